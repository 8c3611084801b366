package guardrails.builtin.exception_cap_test

import data.guardrails.builtin.exception_cap

known_policies := [
	"allowed-registries", "campaign-window", "credential-age", "data-residency",
	"exception-cap", "exposure-host", "integration-references", "ownership",
	"sensitive-data-dpa", "vendor-approved", "vendor-data-categories",
	"vendor-data-use", "vendor-endpoints", "workload-limits", "acme-campaign-naming",
]

exception(policies, expires_at) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "PolicyException",
	"metadata": {"name": "black-friday-peak", "namespace": "marketing-emea"},
	"spec": {
		"policies": policies,
		"targets": [{"kind": "MarketingWorkload", "name": "black-friday"}],
		"reason": "Expected traffic peak on Black Friday weekend",
		"approvedBy": "it-platform@acme.example",
		"expiresAt": expires_at,
	},
}

review(policies, expires_at) := {
	"kind": "PolicyException",
	"operation": "CREATE",
	"object": exception(policies, expires_at),
	"standard": {"policies": {"exceptionMaxDuration": "720h0m0s"}},
	"policies": known_policies,
	"now": "2025-11-01T12:00:00Z",
}

test_short_exception_for_known_policy_allowed if {
	count(exception_cap.violation) == 0 with input as review(["workload-limits"], "2025-12-01T00:00:00Z")
	count(exception_cap.violation) == 0 with input as review(["workload-limits", "acme-campaign-naming"], "2025-12-01T12:00:00Z")
}

test_unknown_policy_denied if {
	vs := exception_cap.violation with input as review(["workload-limits", "replica-limits"], "2025-12-01T00:00:00Z")
	count(vs) == 1
	some v in vs
	v.msg == `policy "replica-limits" named in the exception does not exist`
	v.field == "spec.policies[1]"
	contains(v.remediation, "workload-limits")
}

test_misspelt_policy_gets_a_suggestion if {
	vs := exception_cap.violation with input as review(["vendor-approve"], "2025-12-01T00:00:00Z")
	vs == {{
		"msg": `policy "vendor-approve" named in the exception does not exist`,
		"field": "spec.policies[0]",
		"remediation": "Did you mean \"vendor-approved\"? Name existing policies only (`guardrails policies` lists them).",
	}}
}

test_exception_too_far_ahead_denied if {
	vs := exception_cap.violation with input as review(["workload-limits"], "2026-03-01T12:00:00Z")
	vs == {{
		"msg": "the exception expires 2026-03-01T12:00:00Z, 120 days from now; exceptions may last at most 30 days",
		"field": "spec.expiresAt",
		"remediation": "Set spec.expiresAt to 2025-12-01T12:00:00Z or earlier and renew the exception if it is still needed then.",
	}}
}

test_default_cap_is_90_days if {
	inp := object.remove(review(["workload-limits"], "2026-01-20T00:00:00Z"), ["standard"])
	count(exception_cap.violation) == 0 with input as inp
	too_far := object.remove(review(["workload-limits"], "2026-03-01T12:00:00Z"), ["standard"])
	vs := exception_cap.violation with input as too_far
	some v in vs
	count(vs) == 1
	endswith(v.msg, "exceptions may last at most 90 days")
}

test_unknown_policy_and_too_far_ahead if {
	vs := exception_cap.violation with input as review(["all-the-things"], "2027-01-01T00:00:00Z")
	{v.field | some v in vs} == {"spec.policies[0]", "spec.expiresAt"}
}

test_missing_expiry_denied if {
	vs := exception_cap.violation with input as review(["workload-limits"], null)
	some v in vs
	count(vs) == 1
	v.msg == "the exception has no expiry"
}

test_policy_names_unchecked_when_unknown if {
	inp := object.remove(review(["replica-limits"], "2025-12-01T00:00:00Z"), ["policies"])
	count(exception_cap.violation) == 0 with input as inp
}

test_other_kinds_ignored if {
	inp := object.union(review(["replica-limits"], "2027-01-01T00:00:00Z"), {"kind": "MarketingWorkload"})
	count(exception_cap.violation) == 0 with input as inp
}

# Times outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z cannot be judged
# (internal/policy/timebounds.go): a deny naming the field, never a pass.
test_expiry_beyond_supported_range_denied if {
	vs := exception_cap.violation with input as review(["workload-limits"], "9999-12-31T23:59:59Z")
	vs == {{
		"msg": "the exception expires 9999-12-31T23:59:59Z, outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z: it cannot be judged",
		"field": "spec.expiresAt",
		"remediation": "Set spec.expiresAt to an RFC 3339 time at most 30 days from now, e.g. 2025-12-01T12:00:00Z.",
	}}
}

test_expiry_at_the_edges_of_the_range if {
	# Rego's nanosecond times end at 2262-04-11T23:47:16Z; the supported
	# range ends before, on 2262-01-01, on both sides of the engine.
	every ts in ["2262-04-11T23:47:17Z", "2262-04-11T23:47:16Z", "2262-01-01T00:00:00Z", "1677-12-31T23:59:59Z", "1600-01-01T00:00:00Z", "not a time"] {
		vs := exception_cap.violation with input as review(["workload-limits"], ts)
		{v.field | some v in vs} == {"spec.expiresAt"}
		some v in vs
		contains(v.msg, "outside the supported range")
	}

	# The last second of the range is judged: far too far ahead.
	vs := exception_cap.violation with input as review(["workload-limits"], "2261-12-31T23:59:59Z")
	some v in vs
	startswith(v.msg, "the exception expires 2261-12-31T23:59:59Z, 86257 days 11 hours from now")

	# The first second of the range is judged: long expired, not too far ahead.
	count(exception_cap.violation) == 0 with input as review(["workload-limits"], "1678-01-01T00:00:00Z")
}

test_huge_max_duration_never_undefined if {
	# The longest duration Go parses (292 years) pushes now + cap past the range.
	huge := {"policies": {"exceptionMaxDuration": "2562047h"}}
	vs := exception_cap.violation with input as object.union(review(["workload-limits"], null), {"standard": huge})
	vs == {{
		"msg": "the exception has no expiry",
		"field": "spec.expiresAt",
		"remediation": "Set spec.expiresAt to an RFC 3339 time at most 106751 days 23 hours from now, e.g. 2261-12-31T23:59:59Z.",
	}}
	count(exception_cap.violation) == 0 with input as object.union(review(["workload-limits"], "2261-12-31T23:59:59Z"), {"standard": huge})
	far := exception_cap.violation with input as object.union(review(["workload-limits"], "9999-12-31T23:59:59Z"), {"standard": huge})
	{v.field | some v in far} == {"spec.expiresAt"}
}
