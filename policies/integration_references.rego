# METADATA
# title: Workloads use only existing, compliant integrations and declare their data
# description: Every SaaSIntegration a MarketingWorkload references must exist in its namespace and be compliant, and the workload's dataCategories must cover (be equal to or broader than) every data category those integrations send.
# custom:
#   name: integration-references
#   enforcement: deny
#   severity: high
#   category: privacy
#   targets:
#     - MarketingWorkload
package guardrails.builtin.integration_references

refs := object.get(input.object, ["spec", "integrations"], [])

declared := [c | some c in object.get(input.object, ["spec", "dataCategories"], []); is_string(c)]

declared_text := concat(", ", declared) if {
	count(declared) > 0
} else := "none"

namespace := object.get(input.object, ["metadata", "namespace"], "")

in_namespace := sprintf(" in namespace %q", [namespace]) if {
	is_string(namespace)
	namespace != ""
} else := ""

violation contains {
	"msg": sprintf("integration %q does not exist%s", [name, in_namespace]),
	"field": sprintf("spec.integrations[%d].name", [i]),
	"remediation": sprintf("Create the SaaSIntegration %q%s before the workload uses it, or fix the name (kubectl get saas).", [name, in_namespace]),
} if {
	input.kind == "MarketingWorkload"
	some i, ref in refs
	is_object(ref)
	name := object.get(ref, "name", "")
	is_string(name)
	name != ""
	not integration(name)
}

violation contains {
	"msg": sprintf("integration %q is not compliant%s", [name, failing_text(integ)]),
	"field": sprintf("spec.integrations[%d].name", [i]),
	"remediation": sprintf("Fix the SaaSIntegration %q first (kubectl describe saas %s shows what is wrong) or stop using it; the workload is admitted once the integration complies.", [name, name]),
} if {
	input.kind == "MarketingWorkload"
	some i, ref in refs
	is_object(ref)
	name := object.get(ref, "name", "")
	integ := integration(name)
	compliant(integ) == false
}

violation contains {
	"msg": sprintf("integration %q sends data category %q, which the workload does not declare (declared: %s)", [name, category, declared_text]),
	"field": "spec.dataCategories",
	"remediation": sprintf("Add %q (or a broader category containing it) to spec.dataCategories, or stop using integration %q.", [category, name]),
} if {
	input.kind == "MarketingWorkload"
	some ref in refs
	is_object(ref)
	name := object.get(ref, "name", "")
	integ := integration(name)
	some category in object.get(integ, ["spec", "dataCategories"], [])
	is_string(category)
	not covered(category)
}

integration(name) := integ if {
	is_string(name)
	integ := input.integrations[name]
	is_object(integ)
}

# The engine's verdict on the integration; status.compliant when it is absent.
compliant(integ) := object.get(integ, ["guardrails", "compliant"], true) if {
	is_object(object.get(integ, "guardrails", null))
} else := object.get(integ, ["status", "compliant"], true)

failing(integ) := {p |
	some v in object.get(integ, ["guardrails", "violations"], [])
	is_object(v)
	p := object.get(v, "policy", "")
	is_string(p)
	p != ""
} if {
	is_object(object.get(integ, "guardrails", null))
} else := {p |
	some v in object.get(integ, ["status", "violations"], [])
	is_object(v)
	object.get(v, "enforcement", "deny") == "deny"
	object.get(v, "exception", "") == ""
	p := object.get(v, "policy", "")
	is_string(p)
	p != ""
}

failing_text(integ) := sprintf(" (failing policies: %s)", [concat(", ", sort(failing(integ)))]) if {
	count(failing(integ)) > 0
} else := ""

covered(category) if {
	some d in declared
	within(category, d)
}

# within: key equals ancestor or lies below it in the dotted hierarchy.
within(key, ancestor) if key == ancestor

within(key, ancestor) if {
	startswith(key, ancestor)
	substring(key, count(ancestor), 1) == "."
}
