package guardrails.builtin.workload_limits_test

import data.guardrails.builtin.workload_limits

standard := {"workloadDefaults": {
	"maxReplicas": 6,
	"resources": {
		"requests": {"cpu": "100m", "memory": "128Mi"},
		"limits": {"cpu": "1", "memory": "512Mi"},
	},
}}

workload := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "MarketingWorkload",
	"metadata": {"name": "personalizer", "namespace": "marketing-emea"},
	"spec": {
		"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
		"costCenter": "MKT-4410",
		"image": "ghcr.io/acme/personalizer:3.0.2",
		"replicas": 3,
		"resources": {
			"requests": {"cpu": "250m", "memory": "256Mi"},
			"limits": {"cpu": "500m", "memory": "512Mi"},
		},
	},
}

review(patch) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": json.patch(workload, patch),
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

fields(vs) := {v.field | some v in vs}

test_workload_within_limits_allowed if {
	count(workload_limits.violation) == 0 with input as review([])
}

test_workload_without_resources_allowed if {
	count(workload_limits.violation) == 0 with input as review([{"op": "remove", "path": "/spec/resources"}, {"op": "remove", "path": "/spec/replicas"}])
}

test_too_many_replicas_denied if {
	vs := workload_limits.violation with input as review([{"op": "replace", "path": "/spec/replicas", "value": 12}])
	vs == {{
		"msg": "replicas 12 is more than the 6 the platform standard allows",
		"field": "spec.replicas",
		"remediation": "Set spec.replicas to 6 or fewer, or ask IT for a PolicyException for the peak.",
	}}
}

test_cpu_limit_above_maximum_denied if {
	vs := workload_limits.violation with input as review([{"op": "replace", "path": "/spec/resources/limits/cpu", "value": "2"}])
	vs == {{
		"msg": "CPU limit 2 is above the platform maximum of 1",
		"field": "spec.resources.limits.cpu",
		"remediation": "Lower spec.resources.limits.cpu to 1 or less, or ask IT for a PolicyException.",
	}}
}

test_memory_limit_above_maximum_denied if {
	vs := workload_limits.violation with input as review([{"op": "replace", "path": "/spec/resources/limits/memory", "value": "2Gi"}])
	some v in vs
	count(vs) == 1
	v.msg == "memory limit 2Gi is above the platform maximum of 512Mi"
}

test_requests_checked_against_limits if {
	vs := workload_limits.violation with input as review([
		{"op": "replace", "path": "/spec/resources/requests/cpu", "value": "1500m"},
		{"op": "replace", "path": "/spec/resources/requests/memory", "value": "1Gi"},
		{"op": "remove", "path": "/spec/resources/limits"},
	])
	fields(vs) == {"spec.resources.requests.cpu", "spec.resources.requests.memory"}
}

test_equal_to_maximum_allowed if {
	count(workload_limits.violation) == 0 with input as review([
		{"op": "replace", "path": "/spec/replicas", "value": 6},
		{"op": "replace", "path": "/spec/resources/limits/cpu", "value": "1000m"},
		{"op": "replace", "path": "/spec/resources/limits/memory", "value": "512Mi"},
	])
}

test_no_standard_means_no_limit if {
	inp := object.remove(review([{"op": "replace", "path": "/spec/replicas", "value": 50}]), ["standard"])
	count(workload_limits.violation) == 0 with input as inp
}

test_other_kinds_ignored if {
	inp := object.union(review([{"op": "replace", "path": "/spec/replicas", "value": 50}]), {"kind": "SaaSIntegration"})
	count(workload_limits.violation) == 0 with input as inp
}

# input.effective (set by the engine: what the Deployment is rendered with)
# is judged instead of the spec.

test_effective_defaults_judged_when_spec_has_no_resources if {
	inp := object.union(review([{"op": "remove", "path": "/spec/resources"}]), {"effective": {
		"resources": {"limits": {"cpu": "2", "memory": "512Mi"}},
		"replicas": 3,
	}})
	vs := workload_limits.violation with input as inp
	vs == {{
		"msg": "CPU limit 2 is above the platform maximum of 1 (the platform standard's default: spec.resources is empty)",
		"field": "spec.resources.limits.cpu",
		"remediation": "Lower spec.resources.limits.cpu to 1 or less, or ask IT for a PolicyException.",
	}}
}

test_effective_replicas_judged if {
	inp := object.union(review([{"op": "remove", "path": "/spec/replicas"}]), {"effective": {"replicas": 7}})
	fields(workload_limits.violation) == {"spec.replicas"} with input as inp
}

test_effective_within_limits_allowed if {
	inp := object.union(review([{"op": "remove", "path": "/spec/resources"}]), {"effective": {
		"resources": standard.workloadDefaults.resources,
		"replicas": 1,
	}})
	count(workload_limits.violation) == 0 with input as inp
}
