package guardrails.builtin.allowed_registries_test

import data.guardrails.builtin.allowed_registries

standard := {"allowedRegistries": ["ghcr.io/acme/", "registry.acme.internal/"]}

workload(image) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "MarketingWorkload",
	"metadata": {"name": "spring-sale", "namespace": "marketing-emea"},
	"spec": {
		"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
		"costCenter": "MKT-4410",
		"image": image,
		"port": 8080,
	},
}

review(image) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": workload(image),
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

test_image_from_allowed_registry if {
	count(allowed_registries.violation) == 0 with input as review("ghcr.io/acme/spring-sale:1.4.0")
	count(allowed_registries.violation) == 0 with input as review("registry.acme.internal/tag-server@sha256:0f3c")
}

test_docker_hub_image_denied if {
	vs := allowed_registries.violation with input as review("docker.io/library/nginx:1.27")
	vs == {{
		"msg": `image "docker.io/library/nginx:1.27" is not from an allowed registry (allowed: ghcr.io/acme/, registry.acme.internal/)`,
		"field": "spec.image",
		"remediation": "Push or mirror the image to one of the allowed registries (ghcr.io/acme/, registry.acme.internal/) and set spec.image to that reference, e.g. ghcr.io/acme/nginx:1.27.",
	}}
}

test_short_image_name_is_docker_hub if {
	vs := allowed_registries.violation with input as review("nginx:1.27")
	some v in vs
	count(vs) == 1
	v.msg == `image "nginx:1.27" (read as docker.io/library/nginx:1.27) is not from an allowed registry (allowed: ghcr.io/acme/, registry.acme.internal/)`
}

test_org_image_without_registry_is_docker_hub if {
	vs := allowed_registries.violation with input as review("acme/landing-page:2.0")
	some v in vs
	count(vs) == 1
	contains(v.msg, "(read as docker.io/acme/landing-page:2.0)")
}

test_other_org_on_same_registry_denied if {
	vs := allowed_registries.violation with input as review("ghcr.io/someone-else/pixel:latest")
	count(vs) == 1
}

test_docker_hub_allowed_when_standard_allows_it if {
	std := {"allowedRegistries": ["docker.io/library/"]}
	count(allowed_registries.violation) == 0 with input as object.union(review("nginx:1.27"), {"standard": std})
}

test_no_allowed_registries_means_no_limit if {
	count(allowed_registries.violation) == 0 with input as object.remove(review("docker.io/library/nginx:1.27"), ["standard"])
}

test_other_kinds_ignored if {
	count(allowed_registries.violation) == 0 with input as object.union(review("docker.io/library/nginx:1.27"), {"kind": "SaaSIntegration"})
}

test_remediation_keeps_the_digest if {
	some v in allowed_registries.violation with input as review("quay.io/acme/pixel@sha256:0f3c")
	endswith(v.remediation, "e.g. ghcr.io/acme/pixel@sha256:0f3c.")
}

# A suggestion must not be one that a tag-pinning policy then denies: :latest
# and untagged images get a placeholder tag, never :latest.
test_remediation_never_suggests_latest if {
	some v in allowed_registries.violation with input as review("docker.io/library/nginx:latest")
	endswith(v.remediation, "e.g. ghcr.io/acme/nginx:<version>.")
	some w in allowed_registries.violation with input as review("nginx")
	endswith(w.remediation, "e.g. ghcr.io/acme/nginx:<version>.")
}
