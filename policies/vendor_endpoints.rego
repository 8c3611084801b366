# METADATA
# title: Endpoints lie within the vendor's domains
# description: Every endpoint of a SaaSIntegration must be a host name equal to, or a subdomain of, one of the vendor's domains; endpoints form the workload's egress allow-list.
# custom:
#   name: vendor-endpoints
#   enforcement: deny
#   severity: high
#   category: security
#   targets:
#     - SaaSIntegration
package guardrails.builtin.vendor_endpoints

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

endpoints := object.get(input.object, ["spec", "endpoints"], [])

# Vendor domains, lower-cased, without a leading "*." or ".".
domains := [d |
	some raw in object.get(vendor, ["spec", "domains"], [])
	is_string(raw)
	d := trim_left(trim_prefix(lower(raw), "*."), ".")
	d != ""
]

domains_text := concat(", ", domains) if {
	count(domains) > 0
} else := "none"

violation contains {
	"msg": sprintf("endpoint %q is not a host name", [endpoint]),
	"field": sprintf("spec.endpoints[%d]", [i]),
	"remediation": "Give the bare host name the workload calls (e.g. api.hubapi.com), without scheme, port or path.",
} if {
	input.kind == "SaaSIntegration"
	some i, endpoint in endpoints
	not hostname(endpoint)
}

violation contains {
	"msg": sprintf("endpoint %q is outside the domains of vendor %q (vendor domains: %s)", [endpoint, vendor_name, domains_text]),
	"field": sprintf("spec.endpoints[%d]", [i]),
	"remediation": sprintf("Use an endpoint within %s, or ask IT to add the domain to the vendor's domains after checking it belongs to %q.", [domains_text, vendor_name]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	some i, endpoint in endpoints
	hostname(endpoint)
	not within_vendor(normalize(endpoint))
}

normalize(endpoint) := lower(trim_right(endpoint, "."))

hostname(endpoint) if {
	is_string(endpoint)
	regex.match(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, normalize(endpoint))
}

within_vendor(host) if {
	some d in domains
	host == d
}

within_vendor(host) if {
	some d in domains
	endswith(host, concat("", [".", d]))
}
