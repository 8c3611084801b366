# METADATA
# title: Reuse the tools the organisation already uses
# description: A SaaSIntegration whose vendor is of a category (cms, crm, email...) in which another approved vendor is already in wider use in the cluster, by more SaaSIntegrations than this integration's vendor counting this one. The engine counts the cluster's integrations by vendor, the subject left out (input.portfolio.usage); the category other is never an overlap.
# custom:
#   name: vendor-overlap
#   enforcement: warn
#   severity: low
#   category: portfolio
#   targets:
#     - SaaSIntegration
package guardrails.builtin.vendor_overlap

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendors := v if {
	v := input.vendors
	is_object(v)
} else := {}

category := c if {
	c := object.get(vendors, [vendor_name, "spec", "category"], "")
	is_string(c)
	c != ""
	c != "other"
}

violation contains {
	"msg": sprintf("the organisation already uses %s (%s) in %s; consider it, or record why with an exception", [other, category, integrations(u.integrations)]),
	"field": "spec.vendor",
	"remediation": sprintf("Use vendor %q for this purpose if it fits, or ask IT for a PolicyException (policy vendor-overlap) that records why %q is needed beside it.", [other, vendor_name]),
} if {
	input.kind == "SaaSIntegration"
	category
	some other, u in usage
	other != vendor_name
	object.get(u, "integrations", 0) > ours
	object.get(vendors, [other, "spec", "category"], "") == category
	object.get(vendors, [other, "spec", "status"], "") == "approved"
}

# How many integrations use this vendor, this one included.
ours := object.get(usage, [vendor_name, "integrations"], 0) + 1

usage := u if {
	u := object.get(input, ["portfolio", "usage"], {})
	is_object(u)
} else := {}

integrations(1) := "1 integration"

integrations(n) := sprintf("%d integrations", [n]) if n != 1
