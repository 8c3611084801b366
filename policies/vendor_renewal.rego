# METADATA
# title: Vendor contracts are decided on before their notice deadline
# description: A Vendor whose contract notice deadline (spec.contract.renewsAt minus noticeDays) is within the PlatformStandard's portfolio.renewalWarningDays, or has passed. Past the deadline an auto-renewing contract locks the company in for another term; a contract whose renewal date has passed needs its new term recorded. Dates are computed by the engine (input.portfolio.deadlines).
# custom:
#   name: vendor-renewal
#   enforcement: warn
#   severity: medium
#   category: portfolio
#   targets:
#     - Vendor
package guardrails.builtin.vendor_renewal

contract := c if {
	c := object.get(input.object, ["spec", "contract"], {})
	is_object(c)
} else := {}

notice := object.get(input, ["portfolio", "deadlines", "notice"], {})

renewal := object.get(input, ["portfolio", "deadlines", "renewal"], {})

auto_renew := object.get(contract, "autoRenew", false) == true

name := object.get(input.object, ["metadata", "name"], "")

display := sprintf("%q (%s)", [name, d]) if {
	d := object.get(input.object, ["spec", "displayName"], "")
	is_string(d)
	d != ""
	d != name
} else := sprintf("%q", [name])

# " (contract PROC-1, EUR 24000.00 a year)", as much as the contract says.
terms := sprintf(" (%s)", [concat(", ", parts)]) if {
	parts := [p | some p in [reference, cost]; p != ""]
	count(parts) > 0
} else := ""

reference := sprintf("contract %s", [r]) if {
	r := object.get(contract, "reference", "")
	is_string(r)
	r != ""
} else := ""

cost := sprintf("%s %s a year", [c, a]) if {
	a := object.get(contract, ["annualCost", "amount"], "")
	c := object.get(contract, ["annualCost", "currency"], "")
	is_string(a)
	is_string(c)
	a != ""
} else := ""

owner := sprintf(" with the owner team %q", [t]) if {
	t := object.get(input.object, ["spec", "owner", "team"], "")
	is_string(t)
	t != ""
} else := ""

renews_how := "renews automatically" if auto_renew

else := "ends"

violation contains {
	"msg": sprintf("the notice deadline of vendor %s%s is %s, in %d days: the contract %s on %s", [display, terms, notice.date, notice.days, renews_how, renewal.date]),
	"field": "spec.contract.renewsAt",
	"remediation": sprintf("Decide%s before %s whether to renew, renegotiate or give notice, then record the new term in spec.contract (startsAt, renewsAt).", [owner, notice.date]),
} if {
	input.kind == "Vendor"
	notice.soon == true
}

violation contains {
	"msg": sprintf("the notice deadline of vendor %s%s passed on %s: the contract renews automatically on %s and the company is locked in for another term", [display, terms, notice.date, renewal.date]),
	"field": "spec.contract.renewsAt",
	"remediation": sprintf("Plan the next term%s now (budget, usage, alternatives); after %s record the new term in spec.contract (startsAt, renewsAt).", [owner, renewal.date]),
} if {
	input.kind == "Vendor"
	notice.passed == true
	renewal.passed == false
	auto_renew
}

violation contains {
	"msg": sprintf("the notice deadline of vendor %s%s passed on %s: the contract ends on %s unless it is renewed", [display, terms, notice.date, renewal.date]),
	"field": "spec.contract.renewsAt",
	"remediation": sprintf("Renew the contract%s before %s and record the new term in spec.contract, or plan the move off the vendor and set its status to restricted.", [owner, renewal.date]),
} if {
	input.kind == "Vendor"
	notice.passed == true
	renewal.passed == false
	not auto_renew
}

violation contains {
	"msg": sprintf("the contract with vendor %s%s renewed automatically on %s for another term, and spec.contract still records the old one", [display, terms, renewal.date]),
	"field": "spec.contract.renewsAt",
	"remediation": "Record the new term in spec.contract (startsAt, renewsAt, annualCost) so that its notice deadline is watched.",
} if {
	input.kind == "Vendor"
	renewal.passed == true
	auto_renew
}

violation contains {
	"msg": sprintf("the contract with vendor %s%s ended on %s", [display, terms, renewal.date]),
	"field": "spec.contract.renewsAt",
	"remediation": "Record the new term in spec.contract if it was renewed; otherwise remove the contract, and set the vendor's status to restricted or prohibited if it must no longer be used.",
} if {
	input.kind == "Vendor"
	renewal.passed == true
	not auto_renew
}
