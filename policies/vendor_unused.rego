# METADATA
# title: Approved vendors under contract are used
# description: An approved Vendor with a contract that no SaaSIntegration in the cluster has used for the PlatformStandard's portfolio.unusedAfterDays is shelfware that still costs its annualCost. The unused clock starts at the latest of the vendor's creation, its contract's startsAt and status.lastUsedAt (when the operator saw its last integration go); the engine computes it (input.portfolio.unused).
# custom:
#   name: vendor-unused
#   enforcement: audit
#   severity: low
#   category: portfolio
#   targets:
#     - Vendor
package guardrails.builtin.vendor_unused

unused := object.get(input, ["portfolio", "unused"], {})

name := object.get(input.object, ["metadata", "name"], "")

display := sprintf("%q (%s)", [name, d]) if {
	d := object.get(input.object, ["spec", "displayName"], "")
	is_string(d)
	d != ""
	d != name
} else := sprintf("%q", [name])

cost := sprintf("; its contract costs %s %s a year", [c, a]) if {
	a := object.get(input.object, ["spec", "contract", "annualCost", "amount"], "")
	c := object.get(input.object, ["spec", "contract", "annualCost", "currency"], "")
	is_string(a)
	is_string(c)
	a != ""
} else := ""

renews := sprintf(" and renews on %s", [r.date]) if {
	r := object.get(input, ["portfolio", "deadlines", "renewal"], {})
	r.passed == false
} else := ""

violation contains {
	"msg": sprintf("no SaaSIntegration has used approved vendor %s since %s (%d days; the standard allows %d)%s%s", [display, unused.date, unused.days, input.portfolio.unusedAfterDays, cost, renews]),
	"field": "spec.contract",
	"remediation": "Give notice on the contract before its deadline, or record the integrations that use the vendor (a SaaSIntegration per use); a PolicyException records why an unused contract is kept.",
} if {
	input.kind == "Vendor"
	object.get(input.object, ["spec", "status"], "") == "approved"
	is_object(object.get(input.object, ["spec", "contract"], null))
	unused.overdue == true
}
