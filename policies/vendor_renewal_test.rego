package guardrails.builtin.vendor_renewal_test

import data.guardrails.builtin.vendor_renewal

vendor(auto) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "Vendor",
	"metadata": {"name": "contentful"},
	"spec": {
		"displayName": "Contentful",
		"category": "cms",
		"status": "approved",
		"owner": {"team": "web-platform", "contact": "web@example.com"},
		"contract": {
			"reference": "PROC-2026-0101",
			"annualCost": {"amount": "24000.00", "currency": "EUR"},
			"startsAt": "2026-04-01T00:00:00Z",
			"renewsAt": "2027-04-01T00:00:00Z",
			"noticeDays": 60,
			"autoRenew": auto,
		},
	},
}

# The facts the engine computes (internal/policy/portfolio.go) for
# renewsAt 2027-04-01 and noticeDays 60: the notice deadline is 2027-01-31.
deadline(date, passed, soon, days) := {"at": sprintf("%sT00:00:00Z", [date]), "date": date, "passed": passed, "soon": soon, "days": days}

review(auto, notice, renewal) := {
	"kind": "Vendor",
	"operation": "AUDIT",
	"object": vendor(auto),
	"vendors": {},
	"standard": {},
	"now": "2026-12-01T00:00:00Z",
	"portfolio": {
		"renewalWarningDays": 60,
		"unusedAfterDays": 90,
		"deadlines": {"notice": notice, "renewal": renewal},
	},
}

test_far_from_the_deadline_passes if {
	count(vendor_renewal.violation) == 0 with input as review(true, deadline("2027-01-31", false, false, 61), deadline("2027-04-01", false, false, 121))
}

test_within_the_window_warns_with_the_date if {
	vs := vendor_renewal.violation with input as review(true, deadline("2027-01-31", false, true, 45), deadline("2027-04-01", false, false, 105))
	vs == {{
		"msg": `the notice deadline of vendor "contentful" (Contentful) (contract PROC-2026-0101, EUR 24000.00 a year) is 2027-01-31, in 45 days: the contract renews automatically on 2027-04-01`,
		"field": "spec.contract.renewsAt",
		"remediation": `Decide with the owner team "web-platform" before 2027-01-31 whether to renew, renegotiate or give notice, then record the new term in spec.contract (startsAt, renewsAt).`,
	}}
}

test_within_the_window_without_auto_renewal_says_it_ends if {
	vs := vendor_renewal.violation with input as review(false, deadline("2027-01-31", false, true, 0), deadline("2027-04-01", false, false, 60))
	some v in vs
	contains(v.msg, "in 0 days: the contract ends on 2027-04-01")
}

test_passed_with_auto_renewal_is_locked_in if {
	vs := vendor_renewal.violation with input as review(true, deadline("2027-01-31", true, false, 0), deadline("2027-04-01", false, false, 59))
	[v] := [v | some v in vs]
	v.msg == `the notice deadline of vendor "contentful" (Contentful) (contract PROC-2026-0101, EUR 24000.00 a year) passed on 2027-01-31: the contract renews automatically on 2027-04-01 and the company is locked in for another term`
}

test_passed_without_auto_renewal_ends if {
	vs := vendor_renewal.violation with input as review(false, deadline("2027-01-31", true, false, 3), deadline("2027-04-01", false, false, 56))
	[v] := [v | some v in vs]
	contains(v.msg, "the contract ends on 2027-04-01 unless it is renewed")
}

test_renewed_asks_for_the_new_term if {
	vs := vendor_renewal.violation with input as review(true, deadline("2027-01-31", true, false, 100), deadline("2027-04-01", true, false, 40))
	[v] := [v | some v in vs]
	contains(v.msg, "renewed automatically on 2027-04-01 for another term")
}

test_ended if {
	vs := vendor_renewal.violation with input as review(false, deadline("2027-01-31", true, false, 100), deadline("2027-04-01", true, false, 40))
	[v] := [v | some v in vs]
	contains(v.msg, "ended on 2027-04-01")
}

test_no_contract_passes if {
	inp := object.union(review(true, {}, {}), {"object": {"kind": "Vendor", "metadata": {"name": "x"}, "spec": {}}, "portfolio": {"deadlines": {}}})
	count(vendor_renewal.violation) == 0 with input as inp
}

test_without_facts_passes if {
	# A door that computed no portfolio (none does today) never makes the policy fail.
	inp := object.remove(review(true, {}, {}), {"portfolio"})
	count(vendor_renewal.violation) == 0 with input as inp
}

test_other_kinds_pass if {
	inp := object.union(review(true, deadline("2027-01-31", false, true, 45), deadline("2027-04-01", false, false, 105)), {"kind": "SaaSIntegration"})
	count(vendor_renewal.violation) == 0 with input as inp
}
