package guardrails.builtin.vendor_endpoints_test

import data.guardrails.builtin.vendor_endpoints

vendors := {
	"hubspot": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "hubspot"},
		"spec": {
			"displayName": "HubSpot",
			"category": "crm",
			"status": "approved",
			"domains": ["hubspot.com", "hubapi.com"],
			"egressCIDRs": ["104.16.0.0/12"],
		},
	},
	"google-analytics": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "google-analytics"},
		"spec": {
			"displayName": "Google Analytics",
			"category": "analytics",
			"status": "approved",
			"domains": ["*.google-analytics.com", "analytics.google.com"],
		},
	},
}

review(vendor, endpoints) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "hubspot-crm", "namespace": "marketing-emea"},
		"spec": {
			"vendor": vendor,
			"purpose": "Sync sign-ups to the CRM",
			"dataUse": "marketing.communications.email",
			"dataCategories": ["user.contact.email"],
			"endpoints": endpoints,
		},
	},
	"vendors": vendors,
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

test_endpoints_within_vendor_domains if {
	count(vendor_endpoints.violation) == 0 with input as review("hubspot", ["api.hubapi.com", "hubspot.com", "forms.eu1.hubspot.com"])
	count(vendor_endpoints.violation) == 0 with input as review("google-analytics", ["region1.google-analytics.com", "analytics.google.com"])
}

test_endpoint_outside_vendor_domains_denied if {
	vs := vendor_endpoints.violation with input as review("hubspot", ["api.hubapi.com", "hooks.zapier.com"])
	vs == {{
		"msg": `endpoint "hooks.zapier.com" is outside the domains of vendor "hubspot" (vendor domains: hubspot.com, hubapi.com)`,
		"field": "spec.endpoints[1]",
		"remediation": `Use an endpoint within hubspot.com, hubapi.com, or ask IT to add the domain to the vendor's domains after checking it belongs to "hubspot".`,
	}}
}

test_lookalike_domain_denied if {
	vs := vendor_endpoints.violation with input as review("hubspot", ["api.nothubapi.com", "hubapi.com.attacker.example"])
	count(vs) == 2
}

test_parent_of_vendor_domain_denied if {
	# analytics.google.com is allowed, google.com is not.
	count(vendor_endpoints.violation) == 1 with input as review("google-analytics", ["www.google.com"])
}

test_url_instead_of_host_denied if {
	vs := vendor_endpoints.violation with input as review("hubspot", ["https://api.hubapi.com/crm"])
	vs == {{
		"msg": `endpoint "https://api.hubapi.com/crm" is not a host name`,
		"field": "spec.endpoints[0]",
		"remediation": "Give the bare host name the workload calls (e.g. api.hubapi.com), without scheme, port or path.",
	}}
}

test_vendor_without_domains_denies_every_endpoint if {
	inp := json.patch(review("hubspot", ["api.hubapi.com"]), [{"op": "remove", "path": "/vendors/hubspot/spec/domains"}])
	vs := vendor_endpoints.violation with input as inp
	some v in vs
	v.msg == `endpoint "api.hubapi.com" is outside the domains of vendor "hubspot" (vendor domains: none)`
}

test_no_endpoints_allowed if {
	inp := json.patch(review("hubspot", []), [{"op": "remove", "path": "/object/spec/endpoints"}])
	count(vendor_endpoints.violation) == 0 with input as inp
}

test_unknown_vendor_left_to_vendor_approved if {
	count(vendor_endpoints.violation) == 0 with input as review("mailblast", ["api.mailblast.example"])
}

test_other_kinds_ignored if {
	inp := object.union(review("hubspot", ["hooks.zapier.com"]), {"kind": "MarketingWorkload"})
	count(vendor_endpoints.violation) == 0 with input as inp
}
