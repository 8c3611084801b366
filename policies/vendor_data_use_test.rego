package guardrails.builtin.vendor_data_use_test

import data.guardrails.builtin.vendor_data_use

taxonomy := {
	"data_category": {"user": "User Data", "user.contact.email": "User Contact Email"},
	"data_use": {
		"analytics": "Analytics",
		"analytics.reporting": "Analytics for Reporting",
		"analytics.reporting.campaign_insights": "Analytics for Insights",
		"marketing": "Marketing",
		"marketing.advertising": "Advertising, Marketing or Promotion",
		"marketing.advertising.third_party": "Third Party Advertising",
		"marketing.communications": "Marketing Communications",
		"marketing.communications.email": "Marketing Email Communications",
		"marketing.communications.sms": "Marketing SMS Communications",
		"sales": "Sales",
	},
	"data_subject": {"customer": "Customer"},
}

vendors := {
	"hubspot": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "hubspot"},
		"spec": {
			"displayName": "HubSpot",
			"category": "crm",
			"status": "approved",
			"allowedDataCategories": ["user.contact", "user.name"],
			"allowedDataUses": ["marketing.communications", "sales"],
			"processingRegions": ["eu", "us"],
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
			"allowedDataCategories": ["user.behavior"],
			"allowedDataUses": ["analytics.reporting"],
			"processingRegions": ["eu", "us"],
		},
	},
}

review(vendor, use) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "newsletter", "namespace": "marketing-emea"},
		"spec": {
			"vendor": vendor,
			"purpose": "Spring newsletter",
			"dataUse": use,
			"dataCategories": ["user.contact.email"],
			"region": "eu",
		},
	},
	"vendors": vendors,
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

test_allowed_use if {
	count(vendor_data_use.violation) == 0 with input as review("hubspot", "marketing.communications.email")
		with data.guardrails.taxonomy as taxonomy
	count(vendor_data_use.violation) == 0 with input as review("hubspot", "sales")
		with data.guardrails.taxonomy as taxonomy
	count(vendor_data_use.violation) == 0 with input as review("google-analytics", "analytics.reporting.campaign_insights")
		with data.guardrails.taxonomy as taxonomy
}

test_advertising_with_crm_vendor_denied if {
	vs := vendor_data_use.violation with input as review("hubspot", "marketing.advertising.third_party")
		with data.guardrails.taxonomy as taxonomy
	vs == {{
		"msg": `vendor "hubspot" is not allowed to use data for "marketing.advertising.third_party" (allowed uses: marketing.communications, sales)`,
		"field": "spec.dataUse",
		"remediation": `Use this vendor only for a data use within marketing.communications, sales, pick another vendor for "marketing.advertising.third_party", or ask IT to add it to the vendor's allowedDataUses.`,
	}}
}

test_broader_use_than_allowed_denied if {
	# "marketing" covers advertising too, so it is more than the vendor may do.
	vs := vendor_data_use.violation with input as review("hubspot", "marketing")
		with data.guardrails.taxonomy as taxonomy
	count(vs) == 1
}

test_unknown_use_left_to_taxonomy_keys if {
	# The engine's taxonomy-keys check reports it, with the nearest keys.
	count(vendor_data_use.violation) == 0 with input as review("hubspot", "marketing.communications.newsletter")
		with data.guardrails.taxonomy as taxonomy
}

test_missing_use_denied if {
	vs := vendor_data_use.violation with input as review("hubspot", "")
		with data.guardrails.taxonomy as taxonomy
	count(vs) == 1
	some v in vs
	v.msg == "the integration does not say what the data is used for"
}

test_unknown_keys_not_checked_without_taxonomy if {
	count(vendor_data_use.violation) == 0 with input as review("hubspot", "marketing.communications.newsletter")
}

test_unknown_vendor_left_to_vendor_approved if {
	count(vendor_data_use.violation) == 0 with input as review("mailblast", "marketing.communications.email")
		with data.guardrails.taxonomy as taxonomy
}

test_other_kinds_ignored if {
	count(vendor_data_use.violation) == 0 with input as object.union(review("hubspot", ""), {"kind": "PolicyException"})
		with data.guardrails.taxonomy as taxonomy
}
