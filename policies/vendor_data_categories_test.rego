package guardrails.builtin.vendor_data_categories_test

import data.guardrails.builtin.vendor_data_categories

taxonomy := {
	"data_category": {
		"user": "User Data",
		"user.behavior": "Observed Behavior",
		"user.behavior.browsing_history": "Browsing History",
		"user.contact": "Contact Data",
		"user.contact.email": "User Contact Email",
		"user.contact.phone_number": "User Contact Phone Number",
		"user.device": "Device Data",
		"user.device.cookie_id": "Cookie ID",
		"user.financial": "Financial Data",
		"user.name": "Name",
	},
	"data_use": {"analytics": "Analytics", "analytics.reporting": "Analytics for Reporting"},
	"data_subject": {"customer": "Customer", "visitor": "Visitor"},
}

vendors := {
	"google-analytics": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "google-analytics"},
		"spec": {
			"displayName": "Google Analytics",
			"category": "analytics",
			"status": "approved",
			"domains": ["google-analytics.com", "analytics.google.com"],
			"allowedDataCategories": ["user.behavior"],
			"allowedDataUses": ["analytics.reporting"],
			"processingRegions": ["eu", "us"],
		},
	},
	"hubspot": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "hubspot"},
		"spec": {
			"displayName": "HubSpot",
			"category": "crm",
			"status": "approved",
			"domains": ["hubspot.com", "hubapi.com"],
			"allowedDataCategories": ["user.contact", "user.name", "user.behavior"],
			"allowedDataUses": ["marketing.communications", "sales"],
			"processingRegions": ["eu", "us"],
		},
	},
}

review(vendor, categories) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "SaaSIntegration",
		"metadata": {"name": "site-analytics", "namespace": "marketing-emea"},
		"spec": {
			"vendor": vendor,
			"purpose": "Campaign landing page analytics",
			"dataUse": "analytics.reporting",
			"dataCategories": categories,
			"region": "eu",
		},
	},
	"vendors": vendors,
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

test_allowed_categories if {
	count(vendor_data_categories.violation) == 0 with input as review("google-analytics", ["user.behavior", "user.behavior.browsing_history"])
		with data.guardrails.taxonomy as taxonomy
}

test_broad_allowance_covers_narrow_category if {
	count(vendor_data_categories.violation) == 0 with input as review("hubspot", ["user.contact.email", "user.name"])
		with data.guardrails.taxonomy as taxonomy
}

test_email_to_behavior_only_vendor_denied if {
	vs := vendor_data_categories.violation with input as review("google-analytics", ["user.behavior", "user.contact.email"])
		with data.guardrails.taxonomy as taxonomy
	vs == {{
		"msg": `vendor "google-analytics" is not allowed to receive data category "user.contact.email" (allowed: user.behavior)`,
		"field": "spec.dataCategories[1]",
		"remediation": `Stop sending "user.contact.email" to "google-analytics" (remove it from spec.dataCategories or send a category within user.behavior), or ask IT to add it to the vendor's allowedDataCategories.`,
	}}
}

test_broader_category_than_allowed_denied if {
	# Sending all of "user" is more than "user.behavior".
	vs := vendor_data_categories.violation with input as review("google-analytics", ["user"])
		with data.guardrails.taxonomy as taxonomy
	count(vs) == 1
}

test_sibling_prefix_is_not_within if {
	# "user.behaviorx" starts with "user.behavior" but is not below it.
	vs := vendor_data_categories.violation with input as review("google-analytics", ["user.behaviorx"])
	count(vs) == 1
}

test_unknown_category_left_to_taxonomy_keys if {
	# The engine's taxonomy-keys check reports it, with the nearest keys.
	count(vendor_data_categories.violation) == 0 with input as review("hubspot", ["user.contact.emial"])
		with data.guardrails.taxonomy as taxonomy
	count(vendor_data_categories.violation) == 0 with input as review("hubspot", ["customer.email"])
		with data.guardrails.taxonomy as taxonomy
}

test_unknown_keys_not_checked_without_taxonomy if {
	count(vendor_data_categories.violation) == 0 with input as review("hubspot", ["user.contact.emial"])
}

test_unknown_vendor_left_to_vendor_approved if {
	count(vendor_data_categories.violation) == 0 with input as review("mailblast", ["user.contact.email"])
		with data.guardrails.taxonomy as taxonomy
}

test_vendor_allowing_nothing if {
	bare := json.patch(review("hubspot", ["user.name"]), [{"op": "remove", "path": "/vendors/hubspot/spec/allowedDataCategories"}])
	vs := vendor_data_categories.violation with input as bare
		with data.guardrails.taxonomy as taxonomy
	some v in vs
	v.msg == `vendor "hubspot" is not allowed to receive data category "user.name" (allowed: none)`
}

test_other_kinds_ignored if {
	count(vendor_data_categories.violation) == 0 with input as object.union(review("google-analytics", ["user.contact.email"]), {"kind": "MarketingWorkload"})
		with data.guardrails.taxonomy as taxonomy
}
