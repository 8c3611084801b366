package guardrails.builtin.integration_references_test

import data.guardrails.builtin.integration_references

integrations := {
	"hubspot-crm": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "hubspot-crm", "namespace": "marketing-emea"},
		"spec": {
			"vendor": "hubspot",
			"dataUse": "marketing.communications.email",
			"dataCategories": ["user.contact.email", "user.name"],
			"region": "eu",
		},
		"guardrails": {"compliant": true, "violations": []},
	},
	"site-analytics": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "site-analytics", "namespace": "marketing-emea"},
		"spec": {
			"vendor": "google-analytics",
			"dataUse": "analytics.reporting",
			"dataCategories": ["user.behavior.browsing_history", "user.device.cookie_id"],
			"region": "eu",
		},
		"guardrails": {"compliant": true, "violations": []},
	},
	"segment-events": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "segment-events", "namespace": "marketing-emea"},
		"spec": {
			"vendor": "segment",
			"dataUse": "personalize",
			"dataCategories": ["user.behavior"],
			"region": "us",
		},
		"guardrails": {
			"compliant": false,
			"violations": [
				{"policy": "data-residency", "msg": `region "us" is not allowed by the platform standard (allowed regions: eu)`},
				{"policy": "vendor-data-use", "msg": `vendor "segment" is not allowed to use data for "personalize"`},
			],
		},
	},
}

workload(refs, categories) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "MarketingWorkload",
	"metadata": {"name": "spring-sale", "namespace": "marketing-emea"},
	"spec": {
		"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
		"costCenter": "MKT-4410",
		"image": "ghcr.io/acme/spring-sale:1.4.0",
		"integrations": [{"name": n, "envPrefix": "X_"} | some n in refs],
		"dataCategories": categories,
	},
}

review(refs, categories) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": workload(refs, categories),
	"integrations": {n: integrations[n] | some n in refs; integrations[n]},
	"vendors": {},
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

test_declared_compliant_integrations_allowed if {
	inp := review(["hubspot-crm", "site-analytics"], ["user.contact", "user.name", "user.behavior", "user.device"])
	count(integration_references.violation) == 0 with input as inp
}

test_workload_without_integrations_allowed if {
	count(integration_references.violation) == 0 with input as review([], [])
}

test_missing_integration_denied if {
	vs := integration_references.violation with input as review(["hubspot-crm", "mailchimp-list"], ["user.contact", "user.name"])
	vs == {{
		"msg": `integration "mailchimp-list" does not exist in namespace "marketing-emea"`,
		"field": "spec.integrations[1].name",
		"remediation": `Create the SaaSIntegration "mailchimp-list" in namespace "marketing-emea" before the workload uses it, or fix the name (kubectl get saas).`,
	}}
}

test_non_compliant_integration_denied if {
	vs := integration_references.violation with input as review(["segment-events"], ["user.behavior"])
	vs == {{
		"msg": `integration "segment-events" is not compliant (failing policies: data-residency, vendor-data-use)`,
		"field": "spec.integrations[0].name",
		"remediation": `Fix the SaaSIntegration "segment-events" first (kubectl describe saas segment-events shows what is wrong) or stop using it; the workload is admitted once the integration complies.`,
	}}
}

test_undeclared_category_denied if {
	vs := integration_references.violation with input as review(["hubspot-crm"], ["user.name"])
	vs == {{
		"msg": `integration "hubspot-crm" sends data category "user.contact.email", which the workload does not declare (declared: user.name)`,
		"field": "spec.dataCategories",
		"remediation": `Add "user.contact.email" (or a broader category containing it) to spec.dataCategories, or stop using integration "hubspot-crm".`,
	}}
}

test_narrower_declaration_does_not_cover if {
	# Declaring user.behavior.browsing_history does not cover sending all of user.behavior.
	inp := json.patch(review(["segment-events"], ["user.behavior.browsing_history"]), [{"op": "replace", "path": "/integrations/segment-events/guardrails", "value": {"compliant": true, "violations": []}}])
	vs := integration_references.violation with input as inp
	some v in vs
	count(vs) == 1
	v.field == "spec.dataCategories"
}

test_nothing_declared if {
	vs := integration_references.violation with input as review(["site-analytics"], [])
	count(vs) == 2
	every v in vs {
		endswith(v.msg, "which the workload does not declare (declared: none)")
	}
}

test_status_compliant_used_without_engine_verdict if {
	inp := json.patch(review(["segment-events"], ["user.behavior"]), [
		{"op": "remove", "path": "/integrations/segment-events/guardrails"},
		{"op": "add", "path": "/integrations/segment-events/status", "value": {
			"compliant": false,
			"violations": [
				{"policy": "vendor-approved", "enforcement": "deny", "message": "vendor is prohibited"},
				{"policy": "credential-age", "enforcement": "warn", "message": "credentials are old"},
			],
		}},
	])
	vs := integration_references.violation with input as inp
	some v in vs
	count(vs) == 1
	v.msg == `integration "segment-events" is not compliant (failing policies: vendor-approved)`
}

test_unknown_compliance_is_not_a_violation if {
	inp := json.patch(review(["segment-events"], ["user.behavior"]), [{"op": "remove", "path": "/integrations/segment-events/guardrails"}])
	count(integration_references.violation) == 0 with input as inp
}

test_other_kinds_ignored if {
	inp := object.union(review(["mailchimp-list"], []), {"kind": "SaaSIntegration"})
	count(integration_references.violation) == 0 with input as inp
}
