package guardrails.builtin.vendor_overlap_test

import data.guardrails.builtin.vendor_overlap

vendor(name, category, status) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "Vendor",
	"metadata": {"name": name},
	"spec": {"displayName": name, "category": category, "status": status},
}

vendors := {
	"contentful": vendor("contentful", "cms", "approved"),
	"storyblok": vendor("storyblok", "cms", "approved"),
	"legacy-cms": vendor("legacy-cms", "cms", "restricted"),
	"hubspot": vendor("hubspot", "crm", "approved"),
	"misc-a": vendor("misc-a", "other", "approved"),
	"misc-b": vendor("misc-b", "other", "approved"),
}

integration(v) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "SaaSIntegration",
	"metadata": {"name": "press-room", "namespace": "growth-marketing"},
	"spec": {"vendor": v, "dataUse": "marketing.communications"},
}

review(v, usage) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": integration(v),
	"vendors": vendors,
	"standard": {},
	"now": "2026-12-01T00:00:00Z",
	"portfolio": {"usage": usage},
}

test_second_cms_warns if {
	vs := vendor_overlap.violation with input as review("storyblok", {"contentful": {"integrations": 4}, "hubspot": {"integrations": 2}})
	vs == {{
		"msg": "the organisation already uses contentful (cms) in 4 integrations; consider it, or record why with an exception",
		"field": "spec.vendor",
		"remediation": `Use vendor "contentful" for this purpose if it fits, or ask IT for a PolicyException (policy vendor-overlap) that records why "storyblok" is needed beside it.`,
	}}
}

test_the_wider_used_vendor_passes if {
	# The incumbent's own integrations are never told to move to the newcomer.
	count(vendor_overlap.violation) == 0 with input as review("contentful", {"contentful": {"integrations": 3}, "storyblok": {"integrations": 1}})
}

test_a_tie_is_no_overlap if {
	# One integration each, this one included: neither is the incumbent.
	count(vendor_overlap.violation) == 0 with input as review("storyblok", {"contentful": {"integrations": 1}})
}

test_counts_this_integration if {
	# storyblok has 2 other integrations, 3 with this one: contentful's 3 is no wider.
	count(vendor_overlap.violation) == 0 with input as review("storyblok", {"contentful": {"integrations": 3}, "storyblok": {"integrations": 2}})
	vs := vendor_overlap.violation with input as review("storyblok", {"contentful": {"integrations": 4}, "storyblok": {"integrations": 2}})
	count(vs) == 1
}

test_same_vendor_passes if {
	count(vendor_overlap.violation) == 0 with input as review("contentful", {"contentful": {"integrations": 3}})
}

test_restricted_incumbent_is_no_overlap if {
	count(vendor_overlap.violation) == 0 with input as review("storyblok", {"legacy-cms": {"integrations": 3}})
}

test_other_category_is_never_an_overlap if {
	count(vendor_overlap.violation) == 0 with input as review("misc-b", {"misc-a": {"integrations": 3}})
}

test_unknown_usage_passes if {
	inp := object.remove(review("storyblok", {}), {"portfolio"})
	count(vendor_overlap.violation) == 0 with input as inp
}

test_unknown_vendor_passes if {
	count(vendor_overlap.violation) == 0 with input as review("nobody", {"contentful": {"integrations": 3}})
}
