package guardrails.builtin.vendor_approved_test

import data.guardrails.builtin.vendor_approved

vendors := {
	"hubspot": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "hubspot"},
		"spec": {"displayName": "HubSpot", "category": "crm", "status": "approved", "domains": ["hubspot.com", "hubapi.com"]},
	},
	"adreach": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "adreach"},
		"spec": {"displayName": "AdReach Ads", "category": "advertising", "status": "restricted", "domains": ["adreach.example"]},
	},
	"trackly": {
		"apiVersion": "martech.guardrails.dev/v1alpha1",
		"kind": "Vendor",
		"metadata": {"name": "trackly"},
		"spec": {"displayName": "Trackly Pixel", "category": "advertising", "status": "prohibited", "domains": ["trackly.example"]},
	},
}

integration(vendor) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "SaaSIntegration",
	"metadata": {"name": "newsletter", "namespace": "marketing-emea"},
	"spec": {
		"vendor": vendor,
		"purpose": "Spring newsletter sign-ups",
		"dataUse": "marketing.communications.email",
		"dataCategories": ["user.contact.email", "user.name"],
		"region": "eu",
	},
}

review(vendor) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": integration(vendor),
	"vendors": vendors,
	"standard": {},
	"now": "2025-06-02T09:00:00Z",
}

test_approved_vendor_allowed if {
	count(vendor_approved.violation) == 0 with input as review("hubspot")
}

test_prohibited_vendor_denied if {
	vs := vendor_approved.violation with input as review("trackly")
	vs == {{
		"msg": `vendor "trackly" (Trackly Pixel) is prohibited: no data may be sent to it`,
		"field": "spec.vendor",
		"remediation": "Remove this integration and use an approved vendor for the same purpose (kubectl get vendors shows each vendor's status).",
	}}
}

test_restricted_vendor_warns if {
	vs := vendor_approved.violation with input as review("adreach")
	count(vs) == 1
	some v in vs
	v.enforcement == "warn"
	v.field == "spec.vendor"
	v.msg == `vendor "adreach" (AdReach Ads) is restricted: use it only with IT's agreement`
}

test_unknown_vendor_denied if {
	vs := vendor_approved.violation with input as review("mailblast")
	count(vs) == 1
	some v in vs
	v.msg == `vendor "mailblast" is not in the vendor catalogue`
	not v.enforcement
}

test_missing_vendor_name_denied if {
	vs := vendor_approved.violation with input as review("")
	count(vs) == 1
	some v in vs
	v.msg == "the integration does not name a vendor"
}

test_vendor_without_catalogue_denied if {
	vs := vendor_approved.violation with input as object.remove(review("hubspot"), ["vendors"])
	count(vs) == 1
}

test_vendor_with_unexpected_status_denied if {
	pending := json.patch(vendors, [{"op": "replace", "path": "/hubspot/spec/status", "value": "in-review"}])
	vs := vendor_approved.violation with input as object.union(review("hubspot"), {"vendors": pending})
	count(vs) == 1
	some v in vs
	v.msg == `vendor "hubspot" (HubSpot) has status "in-review", not approved`
}

test_other_kinds_ignored if {
	count(vendor_approved.violation) == 0 with input as object.union(review("trackly"), {"kind": "MarketingWorkload"})
}
