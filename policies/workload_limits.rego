# METADATA
# title: Workloads stay within the platform's size limits
# description: A MarketingWorkload's replicas must not exceed the PlatformStandard's workloadDefaults.maxReplicas, and its CPU and memory requests and limits must not exceed the standard's default limits (workloadDefaults.resources.limits). The values judged are the effective ones, what the Deployment is rendered with (input.effective) - spec.resources, else the standard's default resources, and spec.replicas, else 1.
# custom:
#   name: workload-limits
#   enforcement: deny
#   severity: medium
#   category: cost
#   targets:
#     - MarketingWorkload
package guardrails.builtin.workload_limits

spec := object.get(input.object, "spec", {})

# The engine sets input.effective for a MarketingWorkload; without it (a
# hand-made input) the spec is judged as it stands.
effective := object.get(input, "effective", {})

resources := object.get(effective, "resources", object.get(spec, "resources", {}))

replicas := object.get(effective, "replicas", object.get(spec, "replicas", null))

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
	is_number(replicas)
	replicas > max_replicas
}

violation contains {
	"msg": sprintf("%s %s %v is above the platform maximum of %v%s", [labels[resource], kinds[kind], value, ceiling, defaulted]),
	"field": sprintf("spec.resources.%s.%s", [kind, resource]),
	"remediation": sprintf("Lower spec.resources.%s.%s to %v or less, or ask IT for a PolicyException.", [kind, resource, ceiling]),
} if {
	input.kind == "MarketingWorkload"
	is_object(resources)
	some kind, values in resources
	kinds[kind]
	is_object(values)
	some resource, value in values
	ceiling := ceilings[resource]
	value != ceiling
	quantity(resource, value) > quantity(resource, ceiling)
}

# Said when the value judged is the standard's own default.
defaulted := " (the platform standard's default: spec.resources is empty)" if {
	count(object.get(spec, ["resources", "limits"], {})) + count(object.get(spec, ["resources", "requests"], {})) == 0
} else := ""

# CPU in cores ("500m" is 0.5); memory in bytes ("256Mi").
quantity("cpu", q) := q if is_number(q)

quantity("cpu", q) := units.parse(q) if is_string(q)

quantity("memory", q) := q if is_number(q)

quantity("memory", q) := units.parse_bytes(q) if is_string(q)
