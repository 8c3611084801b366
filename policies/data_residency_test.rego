package guardrails.builtin.data_residency_test

import data.guardrails.builtin.data_residency

eu_only := {"dataResidency": {"allowedRegions": ["eu"]}}

vendors := {
	"google-analytics": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "google-analytics"},
		"spec": {
			"displayName": "Google Analytics",
			"category": "analytics",
			"status": "approved",
			"allowedDataCategories": ["user.behavior"],
			"allowedDataUses": ["analytics.reporting"],
			"processingRegions": ["eu", "us"],
		},
	},
	"segment": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "segment"},
		"spec": {
			"displayName": "Segment CDP",
			"category": "cdp",
			"status": "approved",
			"allowedDataCategories": ["user.behavior", "user.device"],
			"allowedDataUses": ["analytics", "personalize"],
			"processingRegions": ["us"],
		},
	},
	"newcomer": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "newcomer"},
		"spec": {"displayName": "Newcomer Analytics", "category": "analytics", "status": "approved"},
	},
}

review(vendor, region, standard) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "site-analytics", "namespace": "marketing-emea"},
		"spec": {
			"vendor": vendor,
			"purpose": "Landing page analytics",
			"dataUse": "analytics.reporting",
			"dataCategories": ["user.behavior"],
			"region": region,
		},
	},
	"vendors": vendors,
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

test_eu_region_allowed if {
	count(data_residency.violation) == 0 with input as review("google-analytics", "eu", eu_only)
}

test_us_region_under_eu_only_standard_denied if {
	vs := data_residency.violation with input as review("google-analytics", "us", eu_only)
	vs == {{
		"msg": `region "us" is not allowed by the platform standard (allowed regions: eu)`,
		"field": "spec.region",
		"remediation": "Set spec.region to eu and configure the vendor account to process data there, or ask IT for a PolicyException.",
	}}
}

test_vendor_not_processing_in_region_denied if {
	vs := data_residency.violation with input as review("segment", "eu", eu_only)
	vs == {{
		"msg": `vendor "segment" does not process data in region "eu" (vendor processes in: us)`,
		"field": "spec.region",
		"remediation": `Set spec.region to a region the vendor processes in (us), or ask IT to update the vendor's processingRegions if the vendor now offers "eu".`,
	}}
}

test_missing_region_under_limiting_standard_denied if {
	vs := data_residency.violation with input as review("google-analytics", "", eu_only)
	count(vs) == 1
	some v in vs
	v.msg == "no region is set, but the platform standard only allows data processing in: eu"
}

test_both_standard_and_vendor_fail if {
	vs := data_residency.violation with input as review("google-analytics", "apac", eu_only)
	count(vs) == 2
}

test_vendor_without_processing_regions_denied if {
	vs := data_residency.violation with input as review("newcomer", "eu", eu_only)
	some v in vs
	count(vs) == 1
	v.msg == `vendor "newcomer" lists no processing regions, so region "eu" cannot be confirmed`
}

test_no_standard_limit_allows_any_vendor_region if {
	count(data_residency.violation) == 0 with input as review("segment", "us", {})
	count(data_residency.violation) == 0 with input as review("segment", "", {})
}

test_vendor_regions_still_checked_without_standard if {
	vs := data_residency.violation with input as review("segment", "eu", {})
	count(vs) == 1
}

test_region_case_insensitive if {
	count(data_residency.violation) == 0 with input as review("google-analytics", "EU", eu_only)
}

test_other_kinds_ignored if {
	count(data_residency.violation) == 0 with input as object.union(review("segment", "apac", eu_only), {"kind": "MarketingWorkload"})
}
