# METADATA
# title: Data stays in allowed regions
# description: When the PlatformStandard limits data residency, a SaaSIntegration must set its region, the region must be one of standard.dataResidency.allowedRegions, and the vendor must process data there (processingRegions).
# custom:
#   name: data-residency
#   enforcement: deny
#   severity: high
#   category: privacy
#   targets:
#     - SaaSIntegration
package guardrails.builtin.data_residency

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

region := object.get(input.object, ["spec", "region"], "")

# Regions allowed by the standard; none means any region.
allowed := [r | some r in object.get(input, ["standard", "dataResidency", "allowedRegions"], []); is_string(r); r != ""]

vendor_regions := [r | some r in object.get(vendor, ["spec", "processingRegions"], []); is_string(r); r != ""]

violation contains {
	"msg": sprintf("no region is set, but the platform standard only allows data processing in: %s", [concat(", ", allowed)]),
	"field": "spec.region",
	"remediation": sprintf("Set spec.region to %s, where vendor %q must also process the data.", [one_of(allowed), vendor_name]),
} if {
	input.kind == "SaaSIntegration"
	count(allowed) > 0
	region in {"", null}
}

violation contains {
	"msg": sprintf("region %q is not allowed by the platform standard (allowed regions: %s)", [region, concat(", ", allowed)]),
	"field": "spec.region",
	"remediation": sprintf("Set spec.region to %s and configure the vendor account to process data there, or ask IT for a PolicyException.", [one_of(allowed)]),
} if {
	input.kind == "SaaSIntegration"
	count(allowed) > 0
	is_string(region)
	region != ""
	not contains_region(allowed, region)
}

violation contains {
	"msg": sprintf("vendor %q does not process data in region %q (vendor processes in: %s)", [vendor_name, region, concat(", ", vendor_regions)]),
	"field": "spec.region",
	"remediation": sprintf("Set spec.region to a region the vendor processes in (%s), or ask IT to update the vendor's processingRegions if the vendor now offers %q.", [concat(", ", vendor_regions), region]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	is_string(region)
	region != ""
	count(vendor_regions) > 0
	not contains_region(vendor_regions, region)
}

violation contains {
	"msg": sprintf("vendor %q lists no processing regions, so region %q cannot be confirmed", [vendor_name, region]),
	"field": "spec.region",
	"remediation": "Ask IT/procurement to record where the vendor processes data (processingRegions on the Vendor).",
} if {
	input.kind == "SaaSIntegration"
	vendor
	is_string(region)
	region != ""
	count(vendor_regions) == 0
}

one_of(list) := list[0] if {
	count(list) == 1
} else := sprintf("one of %s", [concat(", ", list)])

# Region codes compare case-insensitively (EU and eu are the same region).
contains_region(list, region) if {
	some r in list
	lower(r) == lower(region)
}
