package guardrails.builtin.sensitive_data_dpa_test

import data.guardrails.builtin.sensitive_data_dpa

standard := {"sensitiveDataCategories": ["user.financial", "user.health_and_medical"]}

vendors := {
	"loyaltyloop": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "loyaltyloop"},
		"spec": {
			"displayName": "LoyaltyLoop Rewards",
			"category": "personalization",
			"status": "approved",
			"allowedDataCategories": ["user.contact", "user.financial"],
			"allowedDataUses": ["personalize"],
			"processingRegions": ["eu"],
			"dpa": {"signed": true, "reference": "DPA-2023-LL-07", "expires": "2025-03-31T00:00:00Z"},
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
			"allowedDataCategories": ["user"],
			"allowedDataUses": ["marketing.communications", "sales"],
			"processingRegions": ["eu", "us"],
			"dpa": {"signed": true, "reference": "DPA-2024-HS-01", "expires": "2026-12-31T00:00:00Z"},
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
			"allowedDataCategories": ["user"],
			"allowedDataUses": ["analytics", "personalize"],
			"processingRegions": ["eu", "us"],
			"dpa": {"signed": false},
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
		"metadata": {"name": "rewards", "namespace": "marketing-emea"},
		"spec": {
			"vendor": vendor,
			"purpose": "Loyalty points on purchases",
			"dataUse": "personalize",
			"dataCategories": categories,
			"region": "eu",
		},
	},
	"vendors": vendors,
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

test_sensitive_data_with_current_dpa_allowed if {
	count(sensitive_data_dpa.violation) == 0 with input as review("hubspot", ["user.contact.email", "user.financial.credit_card"])
}

test_non_sensitive_data_needs_no_dpa if {
	count(sensitive_data_dpa.violation) == 0 with input as review("google-analytics", ["user.behavior.browsing_history"])
	count(sensitive_data_dpa.violation) == 0 with input as review("loyaltyloop", ["user.contact.email"])
}

test_financial_data_with_expired_dpa_denied if {
	vs := sensitive_data_dpa.violation with input as review("loyaltyloop", ["user.contact.email", "user.financial"])
	vs == {{
		"msg": `data category "user.financial" is sensitive (user.financial) and the data processing agreement with vendor "loyaltyloop" (DPA-2023-LL-07) expired on 2025-03-31T00:00:00Z`,
		"field": "spec.dataCategories[1]",
		"remediation": `Ask IT/procurement to renew the DPA with "loyaltyloop" and update spec.dpa.expires on the Vendor, or stop sending "user.financial".`,
	}}
}

test_narrower_sensitive_category_denied if {
	vs := sensitive_data_dpa.violation with input as review("loyaltyloop", ["user.financial.bank_account"])
	count(vs) == 1
	some v in vs
	v.field == "spec.dataCategories[0]"
}

test_broader_category_containing_sensitive_denied if {
	# Sending all of "user" sends user.financial and user.health_and_medical too.
	vs := sensitive_data_dpa.violation with input as review("segment", ["user"])
	vs == {{
		"msg": `data category "user" is sensitive (user.financial, user.health_and_medical) and vendor "segment" has no signed data processing agreement`,
		"field": "spec.dataCategories[0]",
		"remediation": `Ask IT/procurement to sign a DPA with "segment" and record it on the Vendor (spec.dpa), or stop sending "user".`,
	}}
}

test_vendor_without_dpa_denied if {
	vs := sensitive_data_dpa.violation with input as review("google-analytics", ["user.financial.credit_card"])
	count(vs) == 1
	some v in vs
	contains(v.msg, "has no signed data processing agreement")
}

test_dpa_expiring_exactly_now_is_expired if {
	vs := sensitive_data_dpa.violation with input as object.union(review("loyaltyloop", ["user.financial"]), {"now": "2025-03-31T00:00:00Z"})
	count(vs) == 1
}

test_dpa_without_expiry_allowed if {
	inp := json.patch(review("loyaltyloop", ["user.financial"]), [{"op": "remove", "path": "/vendors/loyaltyloop/spec/dpa/expires"}])
	count(sensitive_data_dpa.violation) == 0 with input as inp
}

test_no_sensitive_categories_in_standard if {
	count(sensitive_data_dpa.violation) == 0 with input as object.remove(review("segment", ["user.financial"]), ["standard"])
}

test_unknown_vendor_left_to_vendor_approved if {
	count(sensitive_data_dpa.violation) == 0 with input as review("mailblast", ["user.financial"])
}

test_other_kinds_ignored if {
	count(sensitive_data_dpa.violation) == 0 with input as object.union(review("segment", ["user.financial"]), {"kind": "MarketingWorkload"})
}

# A DPA expiry outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z cannot be
# judged (internal/policy/timebounds.go): a deny, never a pass, as
# policy.Dates and `guardrails dataflow` say.
test_dpa_expiry_outside_supported_range_denied if {
	every expires in ["1600-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2262-03-01T00:00:00Z"] {
		inp := json.patch(review("loyaltyloop", ["user.contact.email", "user.financial"]), [{"op": "replace", "path": "/vendors/loyaltyloop/spec/dpa/expires", "value": expires}])
		vs := sensitive_data_dpa.violation with input as inp
		vs == {{
			"msg": sprintf(`data category "user.financial" is sensitive (user.financial) and the data processing agreement with vendor "loyaltyloop" (DPA-2023-LL-07) expires %s, outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z: it cannot be judged`, [expires]),
			"field": "spec.dataCategories[1]",
			"remediation": `Ask IT/procurement to correct spec.dpa.expires on the Vendor "loyaltyloop" (an RFC 3339 time within 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z), or stop sending "user.financial".`,
		}}
	}
}

test_dpa_expiring_at_the_last_second_of_the_range_allowed if {
	inp := json.patch(review("loyaltyloop", ["user.financial"]), [{"op": "replace", "path": "/vendors/loyaltyloop/spec/dpa/expires", "value": "2261-12-31T23:59:59Z"}])
	count(sensitive_data_dpa.violation) == 0 with input as inp
}
