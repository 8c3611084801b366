package guardrails.builtin.ownership_test

import data.guardrails.builtin.ownership

workload := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "MarketingWorkload",
	"metadata": {"name": "spring-sale", "namespace": "marketing-emea"},
	"spec": {
		"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
		"costCenter": "MKT-4410",
		"image": "ghcr.io/acme/spring-sale:1.4.0",
	},
}

review(patch) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": json.patch(workload, patch),
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

fields(vs) := {v.field | some v in vs}

test_owned_workload_allowed if {
	count(ownership.violation) == 0 with input as review([])
}

test_missing_team_denied if {
	vs := ownership.violation with input as review([{"op": "remove", "path": "/spec/owner/team"}])
	vs == {{
		"msg": "the workload has no owner team",
		"field": "spec.owner.team",
		"remediation": "Set spec.owner.team to the marketing team that answers for this workload (e.g. growth-emea); it becomes the team label on everything the operator creates.",
	}}
}

test_blank_contact_denied if {
	vs := ownership.violation with input as review([{"op": "replace", "path": "/spec/owner/contact", "value": "  "}])
	fields(vs) == {"spec.owner.contact"}
}

test_missing_cost_center_denied if {
	vs := ownership.violation with input as review([{"op": "remove", "path": "/spec/costCenter"}])
	fields(vs) == {"spec.costCenter"}
}

test_no_owner_at_all_denied if {
	vs := ownership.violation with input as review([
		{"op": "remove", "path": "/spec/owner"},
		{"op": "remove", "path": "/spec/costCenter"},
	])
	fields(vs) == {"spec.owner.team", "spec.owner.contact", "spec.costCenter"}
}

test_other_kinds_ignored if {
	inp := object.union(review([{"op": "remove", "path": "/spec/owner"}]), {"kind": "SaaSIntegration"})
	count(ownership.violation) == 0 with input as inp
}
