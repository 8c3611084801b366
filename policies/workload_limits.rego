# METADATA
# title: Workloads stay within the platform's size limits
# description: A MarketingWorkload's replicas must not exceed the PlatformStandard's workloadDefaults.maxReplicas, and its CPU and memory requests and limits must not exceed the standard's default limits (workloadDefaults.resources.limits).
# custom:
#   name: workload-limits
#   enforcement: deny
#   severity: medium
#   category: cost
#   targets:
#     - MarketingWorkload
package guardrails.builtin.workload_limits

spec := object.get(input.object, "spec", {})

max_replicas := object.get(input, ["standard", "workloadDefaults", "maxReplicas"], null)

ceilings := object.get(input, ["standard", "workloadDefaults", "resources", "limits"], {})

labels := {
	"cpu": "CPU",
	"memory": "memory",
}

kinds := {
	"limits": "limit",
	"requests": "request",
}

violation contains {
	"msg": sprintf("replicas %v is more than the %v the platform standard allows", [replicas, max_replicas]),
	"field": "spec.replicas",
	"remediation": sprintf("Set spec.replicas to %v or fewer, or ask IT for a PolicyException for the peak.", [max_replicas]),
} if {
	input.kind == "MarketingWorkload"
	is_number(max_replicas)
	replicas := object.get(spec, "replicas", null)
	is_number(replicas)
	replicas > max_replicas
}

violation contains {
	"msg": sprintf("%s %s %v is above the platform maximum of %v", [labels[resource], kinds[kind], value, ceiling]),
	"field": sprintf("spec.resources.%s.%s", [kind, resource]),
	"remediation": sprintf("Lower spec.resources.%s.%s to %v or less, or ask IT for a PolicyException.", [kind, resource, ceiling]),
} if {
	input.kind == "MarketingWorkload"
	some kind, _ in kinds
	some resource, _ in labels
	ceiling := ceilings[resource]
	value := object.get(spec, ["resources", kind, resource], null)
	value != null
	quantity(resource, value) > quantity(resource, ceiling)
}

# CPU in cores ("500m" is 0.5); memory in bytes ("256Mi").
quantity("cpu", q) := q if is_number(q)

quantity("cpu", q) := units.parse(q) if is_string(q)

quantity("memory", q) := q if is_number(q)

quantity("memory", q) := units.parse_bytes(q) if is_string(q)
