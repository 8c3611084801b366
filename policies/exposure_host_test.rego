package guardrails.builtin.exposure_host_test

import data.guardrails.builtin.exposure_host

standard := {"ingress": {
	"className": "nginx",
	"allowedHostSuffixes": [".campaigns.acme.example", "acme-promo.example"],
	"tlsClusterIssuer": "letsencrypt",
}}

review(host) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "MarketingWorkload",
		"metadata": {"name": "spring-sale", "namespace": "marketing-emea"},
		"spec": {
			"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
			"costCenter": "MKT-4410",
			"image": "ghcr.io/acme/spring-sale:1.4.0",
			"exposure": {"host": host, "path": "/"},
		},
	},
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

test_host_under_allowed_suffix if {
	count(exposure_host.violation) == 0 with input as review("spring-sale.campaigns.acme.example")
	count(exposure_host.violation) == 0 with input as review("acme-promo.example")
	count(exposure_host.violation) == 0 with input as review("summer.acme-promo.example")
}

test_host_outside_allowed_suffixes_denied if {
	vs := exposure_host.violation with input as review("spring-sale.promo-agency.example")
	vs == {{
		"msg": `host "spring-sale.promo-agency.example" is not under an allowed domain (allowed suffixes: .campaigns.acme.example, acme-promo.example)`,
		"field": "spec.exposure.host",
		"remediation": "Use a host under one of the allowed suffixes, e.g. spring-sale.campaigns.acme.example, or ask IT to add the domain to the platform standard's ingress.allowedHostSuffixes.",
	}}
}

test_lookalike_domain_denied if {
	# Ends with "acme-promo.example" but is not under it.
	count(exposure_host.violation) == 1 with input as review("evil-acme-promo.example")
}

test_dotted_suffix_allows_only_subdomains if {
	count(exposure_host.violation) == 1 with input as review("campaigns.acme.example")
}

test_host_case_insensitive if {
	count(exposure_host.violation) == 0 with input as review("Spring-Sale.Campaigns.Acme.Example")
}

test_unexposed_workload_allowed if {
	inp := json.patch(review("x.example"), [{"op": "remove", "path": "/object/spec/exposure"}])
	count(exposure_host.violation) == 0 with input as inp
}

test_no_suffixes_means_no_limit if {
	count(exposure_host.violation) == 0 with input as object.remove(review("spring-sale.promo-agency.example"), ["standard"])
}

test_other_kinds_ignored if {
	inp := object.union(review("spring-sale.promo-agency.example"), {"kind": "SaaSIntegration"})
	count(exposure_host.violation) == 0 with input as inp
}
