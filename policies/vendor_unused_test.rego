package guardrails.builtin.vendor_unused_test

import data.guardrails.builtin.vendor_unused

vendor(status, contract) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "Vendor",
	"metadata": {"name": "optimizely"},
	"spec": object.union(
		{"displayName": "Optimizely", "category": "personalization", "status": status},
		contract,
	),
}

contract := {"contract": {
	"reference": "PROC-2026-0042",
	"annualCost": {"amount": "18500.00", "currency": "USD"},
	"startsAt": "2026-03-01T00:00:00Z",
	"renewsAt": "2027-03-01T00:00:00Z",
}}

review(v, unused) := {
	"kind": "Vendor",
	"operation": "AUDIT",
	"object": v,
	"vendors": {},
	"standard": {},
	"now": "2026-12-01T00:00:00Z",
	"portfolio": {
		"renewalWarningDays": 60,
		"unusedAfterDays": 90,
		"deadlines": {"renewal": {"at": "2027-03-01T00:00:00Z", "date": "2027-03-01", "passed": false, "soon": false, "days": 90}},
		"integrations": 0,
		"unused": unused,
	},
}

overdue := {"since": "2026-03-01T00:00:00Z", "date": "2026-03-01", "days": 275, "overdue": true}

test_unused_approved_vendor_with_a_contract_is_found if {
	vs := vendor_unused.violation with input as review(vendor("approved", contract), overdue)
	vs == {{
		"msg": `no SaaSIntegration has used approved vendor "optimizely" (Optimizely) since 2026-03-01 (275 days; the standard allows 90); its contract costs USD 18500.00 a year and renews on 2027-03-01`,
		"field": "spec.contract",
		"remediation": "Give notice on the contract before its deadline, or record the integrations that use the vendor (a SaaSIntegration per use); a PolicyException records why an unused contract is kept.",
	}}
}

test_not_yet_overdue_passes if {
	count(vendor_unused.violation) == 0 with input as review(vendor("approved", contract), object.union(overdue, {"days": 89, "overdue": false}))
}

test_used_vendor_passes if {
	# The engine gives no unused facts for a vendor an integration uses.
	inp := object.union(review(vendor("approved", contract), {}), {"portfolio": {"integrations": 2}})
	count(vendor_unused.violation) == 0 with input as inp
}

test_without_a_contract_passes if {
	count(vendor_unused.violation) == 0 with input as review(vendor("approved", {}), overdue)
}

test_restricted_vendor_passes if {
	count(vendor_unused.violation) == 0 with input as review(vendor("restricted", contract), overdue)
}

test_unknown_usage_passes if {
	inp := object.remove(review(vendor("approved", contract), overdue), {"portfolio"})
	count(vendor_unused.violation) == 0 with input as inp
}
