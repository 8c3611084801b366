package guardrails.builtin.campaign_window_test

import data.guardrails.builtin.campaign_window

standard := {"campaign": {"maxDuration": "2160h0m0s", "archiveAfter": "720h0m0s"}}

workload(starts_at, ends_at) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "MarketingWorkload",
	"metadata": {"name": "summer-sale", "namespace": "marketing-emea"},
	"spec": {
		"owner": {"team": "growth-emea", "contact": "growth-emea@acme.example"},
		"costCenter": "MKT-4410",
		"campaign": {"name": "summer-sale-2025", "startsAt": starts_at, "endsAt": ends_at},
		"image": "ghcr.io/acme/summer-sale:2.1.0",
	},
}

review(starts_at, ends_at) := {
	"kind": "MarketingWorkload",
	"operation": "CREATE",
	"object": workload(starts_at, ends_at),
	"standard": standard,
	"now": "2025-06-02T09:00:00Z",
}

test_six_week_campaign_allowed if {
	count(campaign_window.violation) == 0 with input as review("2025-06-15T08:00:00Z", "2025-07-31T22:00:00Z")
}

test_campaign_of_exactly_max_duration_allowed if {
	count(campaign_window.violation) == 0 with input as review("2025-06-01T00:00:00Z", "2025-08-30T00:00:00Z")
}

test_400_day_campaign_denied if {
	vs := campaign_window.violation with input as review("2025-06-15T00:00:00Z", "2026-07-20T00:00:00Z")
	vs == {{
		"msg": `campaign "summer-sale-2025" runs 400 days (2025-06-15T00:00:00Z to 2026-07-20T00:00:00Z), longer than the 90 days the platform standard allows`,
		"field": "spec.campaign.endsAt",
		"remediation": "Set spec.campaign.endsAt to 2025-09-13T00:00:00Z or earlier (split longer campaigns into several), or ask IT for a PolicyException.",
	}}
}

test_campaign_ending_before_start_denied if {
	vs := campaign_window.violation with input as review("2025-07-01T08:00:00Z", "2025-06-30T22:00:00Z")
	vs == {{
		"msg": `campaign "summer-sale-2025" ends (2025-06-30T22:00:00Z) before it starts (2025-07-01T08:00:00Z)`,
		"field": "spec.campaign.endsAt",
		"remediation": "Set spec.campaign.endsAt to a time after spec.campaign.startsAt.",
	}}
}

test_campaign_ending_when_it_starts_denied if {
	vs := campaign_window.violation with input as review("2025-07-01T08:00:00Z", "2025-07-01T08:00:00Z")
	some v in vs
	count(vs) == 1
	v.msg == `campaign "summer-sale-2025" ends at the moment it starts (2025-07-01T08:00:00Z)`
}

test_campaign_without_end_denied if {
	vs := campaign_window.violation with input as review("2025-07-01T08:00:00Z", null)
	some v in vs
	count(vs) == 1
	v.field == "spec.campaign.endsAt"
	v.msg == `campaign "summer-sale-2025" has no end time`
}

test_overlong_campaign_in_hours if {
	vs := campaign_window.violation with input as review("2025-06-01T00:00:00Z", "2025-08-30T06:00:00Z")
	some v in vs
	count(vs) == 1
	contains(v.msg, "runs 90 days 6 hours")
}

test_no_max_duration_means_no_limit if {
	inp := object.remove(review("2025-06-15T00:00:00Z", "2026-07-20T00:00:00Z"), ["standard"])
	count(campaign_window.violation) == 0 with input as inp
}

test_order_checked_without_standard if {
	inp := object.remove(review("2025-07-01T08:00:00Z", "2025-06-30T22:00:00Z"), ["standard"])
	count(campaign_window.violation) == 1 with input as inp
}

test_always_on_workload_allowed if {
	inp := json.patch(review("2025-06-15T00:00:00Z", "2026-07-20T00:00:00Z"), [{"op": "remove", "path": "/object/spec/campaign"}])
	count(campaign_window.violation) == 0 with input as inp
}

test_other_kinds_ignored if {
	inp := object.union(review("2025-07-01T08:00:00Z", "2025-06-30T22:00:00Z"), {"kind": "PolicyException"})
	count(campaign_window.violation) == 0 with input as inp
}

# Times outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z cannot be judged
# (internal/policy/timebounds.go): a deny naming the field, never a pass.
test_campaign_ending_beyond_supported_range_denied if {
	vs := campaign_window.violation with input as review("2025-06-15T08:00:00Z", "2263-01-01T00:00:00Z")
	vs == {{
		"msg": `campaign "summer-sale-2025" ends 2263-01-01T00:00:00Z, outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z: it cannot be judged`,
		"field": "spec.campaign.endsAt",
		"remediation": "Set spec.campaign.endsAt to an RFC 3339 time within 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z, such as 2025-03-31T22:00:00Z.",
	}}
}

test_campaign_starting_before_supported_range_denied if {
	vs := campaign_window.violation with input as review("1600-01-01T00:00:00Z", "2025-07-31T22:00:00Z")
	vs == {{
		"msg": `campaign "summer-sale-2025" starts 1600-01-01T00:00:00Z, outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z: it cannot be judged`,
		"field": "spec.campaign.startsAt",
		"remediation": "Set spec.campaign.startsAt to an RFC 3339 time within 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z, such as 2025-03-01T08:00:00Z.",
	}}
}

test_campaign_at_the_edges_of_the_range if {
	# 2262-03-01 still fits Rego's nanoseconds but not the supported range.
	vs := campaign_window.violation with input as object.remove(review("2025-06-15T08:00:00Z", "2262-03-01T00:00:00Z"), ["standard"])
	{v.field | some v in vs} == {"spec.campaign.endsAt"}
	count(campaign_window.violation) == 0 with input as object.remove(review("1678-01-01T00:00:00Z", "2261-12-31T23:59:59Z"), ["standard"])
}

test_huge_max_duration_never_undefined if {
	# The longest duration Go parses: 292 years.
	huge := {"campaign": {"maxDuration": "2562047h"}}
	count(campaign_window.violation) == 0 with input as object.union(review("2000-01-01T00:00:00Z", "2261-12-31T23:59:59Z"), {"standard": huge})
	long := campaign_window.violation with input as object.union(review("1678-01-01T00:00:00Z", "2261-12-31T23:59:59Z"), {"standard": huge})
	some v in long
	v.remediation == "Set spec.campaign.endsAt to 1970-04-12T23:00:00Z or earlier (split longer campaigns into several), or ask IT for a PolicyException."
	vs := campaign_window.violation with input as object.union(review("2025-06-15T08:00:00Z", "9999-12-31T23:59:59Z"), {"standard": huge})
	{v.field | some v in vs} == {"spec.campaign.endsAt"}
}
