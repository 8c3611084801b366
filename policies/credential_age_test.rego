package guardrails.builtin.credential_age_test

import data.guardrails.builtin.credential_age

standard := {"credentials": {"maxAge": "2160h0m0s"}}

integration(secret_name) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "SaaSIntegration",
	"metadata": {"name": "hubspot-crm", "namespace": "marketing-emea"},
	"spec": {
		"vendor": "hubspot",
		"purpose": "Sync sign-ups to the CRM",
		"dataUse": "marketing.communications.email",
		"dataCategories": ["user.contact.email"],
		"region": "eu",
		"credentials": {"secretName": secret_name, "keys": ["API_KEY"]},
	},
}

review(secret_name, secrets) := {
	"kind": "SaaSIntegration",
	"operation": "AUDIT",
	"object": integration(secret_name),
	"vendors": {},
	"standard": standard,
	"secrets": secrets,
	"now": "2025-06-02T09:00:00Z",
}

test_recently_rotated_secret_allowed if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2023-01-10T08:00:00Z", "rotatedAt": "2025-04-01T08:00:00Z"}}
	count(credential_age.violation) == 0 with input as review("hubspot-api", secrets)
}

test_secret_older_than_cap_warns if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2023-01-10T08:00:00Z", "rotatedAt": "2024-12-01T09:00:00Z"}}
	vs := credential_age.violation with input as review("hubspot-api", secrets)
	vs == {{
		"msg": `credentials in Secret "hubspot-api" are 183 days old (last rotated 2024-12-01T09:00:00Z); the platform standard allows at most 90 days`,
		"field": "spec.credentials.secretName",
		"remediation": `Rotate the credentials with the vendor, update Secret "hubspot-api" with the new values and record the rotation (the martech.guardrails.dev/rotated-at annotation).`,
	}}
}

test_never_rotated_secret_counts_from_creation if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2024-06-02T09:00:00Z"}}
	vs := credential_age.violation with input as review("hubspot-api", secrets)
	some v in vs
	count(vs) == 1
	v.msg == `credentials in Secret "hubspot-api" are 365 days old (created 2024-06-02T09:00:00Z, never rotated); the platform standard allows at most 90 days`
}

test_secret_exactly_at_cap_allowed if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2025-03-04T09:00:00Z"}}
	count(credential_age.violation) == 0 with input as review("hubspot-api", secrets)
}

test_missing_secret_warns if {
	vs := credential_age.violation with input as review("hubspot-api", {"hubspot-api": {"exists": false}})
	vs == {{
		"msg": `Secret "hubspot-api" not found in namespace "marketing-emea"`,
		"field": "spec.credentials.secretName",
		"remediation": `Create the Secret "hubspot-api" with the vendor's credentials in namespace "marketing-emea", or fix spec.credentials.secretName.`,
	}}
}

test_no_secret_named_warns if {
	vs := credential_age.violation with input as review("", {})
	count(vs) == 1
	some v in vs
	v.msg == "the integration does not name the Secret holding its credentials"
}

test_no_credentials_block_warns if {
	inp := json.patch(review("x", {}), [{"op": "remove", "path": "/object/spec/credentials"}])
	count(credential_age.violation) == 1 with input as inp
}

test_offline_without_secret_metadata if {
	count(credential_age.violation) == 0 with input as object.remove(review("hubspot-api", {}), ["secrets"])
	count(credential_age.violation) == 0 with input as review("hubspot-api", {})
}

test_no_max_age_means_no_limit if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2019-01-01T00:00:00Z"}}
	count(credential_age.violation) == 0 with input as object.remove(review("hubspot-api", secrets), ["standard"])
}

test_short_max_age_in_hours if {
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2025-06-01T00:00:00Z"}}
	inp := object.union(review("hubspot-api", secrets), {"standard": {"credentials": {"maxAge": "12h"}}})
	vs := credential_age.violation with input as inp
	some v in vs
	endswith(v.msg, "the platform standard allows at most 12 hours")
}

test_other_kinds_ignored if {
	count(credential_age.violation) == 0 with input as object.union(review("", {}), {"kind": "MarketingWorkload"})
}

# A rotation time outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z cannot
# be judged (internal/policy/timebounds.go): a warning, never a pass.
test_rotation_outside_supported_range_warns if {
	every ts in ["1600-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
		secrets := {"hubspot-api": {"exists": true, "createdAt": "2023-01-10T08:00:00Z", "rotatedAt": ts}}
		vs := credential_age.violation with input as review("hubspot-api", secrets)
		vs == {{
			"msg": sprintf(`credentials in Secret "hubspot-api" were last rotated %s, outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z: their age cannot be judged`, [ts]),
			"field": "spec.credentials.secretName",
			"remediation": `Record the last rotation of Secret "hubspot-api" as an RFC 3339 time within 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the martech.guardrails.dev/rotated-at annotation).`,
		}}
	}
}

test_huge_max_age_never_undefined if {
	# The longest duration Go parses: 292 years.
	secrets := {"hubspot-api": {"exists": true, "createdAt": "2000-01-01T00:00:00Z"}}
	inp := object.union(review("hubspot-api", secrets), {"standard": {"credentials": {"maxAge": "2562047h"}}})
	count(credential_age.violation) == 0 with input as inp
	far := {"hubspot-api": {"exists": true, "createdAt": "1600-01-01T00:00:00Z"}}
	vs := credential_age.violation with input as object.union(inp, {"secrets": far})
	count(vs) == 1
}
