# METADATA
# title: Workloads have an owner and a cost centre
# description: A MarketingWorkload names its owning team (owner.team), a contact (owner.contact) and the cost centre it is charged to (costCenter).
# custom:
#   name: ownership
#   enforcement: deny
#   severity: medium
#   category: governance
#   targets:
#     - MarketingWorkload
package guardrails.builtin.ownership

required := [
	{
		"path": ["owner", "team"],
		"field": "spec.owner.team",
		"msg": "the workload has no owner team",
		"remediation": "Set spec.owner.team to the marketing team that answers for this workload (e.g. growth-emea); it becomes the team label on everything the operator creates.",
	},
	{
		"path": ["owner", "contact"],
		"field": "spec.owner.contact",
		"msg": "the workload has no owner contact",
		"remediation": "Set spec.owner.contact to an e-mail address (a person or a team list) that IT can reach about this workload.",
	},
	{
		"path": ["costCenter"],
		"field": "spec.costCenter",
		"msg": "the workload has no cost centre",
		"remediation": "Set spec.costCenter to the cost centre charged for this workload (ask your budget owner or finance if unsure).",
	},
]

violation contains {
	"msg": r.msg,
	"field": r.field,
	"remediation": r.remediation,
} if {
	input.kind == "MarketingWorkload"
	spec := object.get(input.object, "spec", {})
	some r in required
	blank(object.get(spec, r.path, ""))
}

blank(value) if value == null

blank(value) if {
	is_string(value)
	trim_space(value) == ""
}
