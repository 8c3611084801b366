# METADATA
# title: Campaigns end after they start and stay within the maximum duration
# description: A MarketingWorkload's campaign must end (campaign.endsAt) after it starts (campaign.startsAt) and run no longer than the PlatformStandard's campaign.maxDuration.
# custom:
#   name: campaign-window
#   enforcement: deny
#   severity: medium
#   category: lifecycle
#   targets:
#     - MarketingWorkload
package guardrails.builtin.campaign_window

day_ns := ((24 * 60) * 60) * 1000000000

campaign := c if {
	c := object.get(input.object, ["spec", "campaign"], null)
	is_object(c)
}

campaign_name := sprintf("campaign %q", [n]) if {
	n := object.get(campaign, "name", "")
	is_string(n)
	n != ""
} else := "the campaign"

starts_at := object.get(campaign, "startsAt", "")

ends_at := object.get(campaign, "endsAt", "")

# The longest a campaign may run; none means no limit.
max_duration := d if {
	raw := object.get(input, ["standard", "campaign", "maxDuration"], "")
	is_string(raw)
	raw != ""
	d := time.parse_duration_ns(raw)
	d > 0
}

violation contains {
	"msg": sprintf("%s has no start time", [campaign_name]),
	"field": "spec.campaign.startsAt",
	"remediation": "Set spec.campaign.startsAt to when the campaign goes live, as an RFC 3339 time such as 2025-03-01T08:00:00Z.",
} if {
	input.kind == "MarketingWorkload"
	starts_at in {"", null}
}

violation contains {
	"msg": sprintf("%s has no end time", [campaign_name]),
	"field": "spec.campaign.endsAt",
	"remediation": "Set spec.campaign.endsAt to when the campaign stops serving, as an RFC 3339 time such as 2025-03-31T22:00:00Z, or remove spec.campaign for an always-on workload.",
} if {
	input.kind == "MarketingWorkload"
	ends_at in {"", null}
}

violation contains {
	"msg": sprintf("%s ends (%s) before it starts (%s)", [campaign_name, ends_at, starts_at]),
	"field": "spec.campaign.endsAt",
	"remediation": "Set spec.campaign.endsAt to a time after spec.campaign.startsAt.",
} if {
	input.kind == "MarketingWorkload"
	[start, end] := window
	end < start
}

violation contains {
	"msg": sprintf("%s ends at the moment it starts (%s)", [campaign_name, starts_at]),
	"field": "spec.campaign.endsAt",
	"remediation": "Set spec.campaign.endsAt to a time after spec.campaign.startsAt.",
} if {
	input.kind == "MarketingWorkload"
	[start, end] := window
	end == start
}

violation contains {
	"msg": sprintf("%s runs %s (%s to %s), longer than the %s the platform standard allows", [campaign_name, human_duration(end - start), starts_at, ends_at, human_duration(max_duration)]),
	"field": "spec.campaign.endsAt",
	"remediation": sprintf("Set spec.campaign.endsAt to %s or earlier (split longer campaigns into several), or ask IT for a PolicyException.", [latest_end(start)]),
} if {
	input.kind == "MarketingWorkload"
	[start, end] := window
	end - start > max_duration
}

violation contains {
	"msg": sprintf("%s starts %v, outside the supported range %s: it cannot be judged", [campaign_name, starts_at, supported_range]),
	"field": "spec.campaign.startsAt",
	"remediation": sprintf("Set spec.campaign.startsAt to an RFC 3339 time within %s, such as 2025-03-01T08:00:00Z.", [supported_range]),
} if {
	input.kind == "MarketingWorkload"
	unjudged(starts_at)
}

violation contains {
	"msg": sprintf("%s ends %v, outside the supported range %s: it cannot be judged", [campaign_name, ends_at, supported_range]),
	"field": "spec.campaign.endsAt",
	"remediation": sprintf("Set spec.campaign.endsAt to an RFC 3339 time within %s, such as 2025-03-31T22:00:00Z.", [supported_range]),
} if {
	input.kind == "MarketingWorkload"
	unjudged(ends_at)
}

window := [ns(starts_at), ns(ends_at)]

# The latest end the maximum duration allows a campaign starting at start,
# or the end of the supported range when it reaches past it.
latest_end(start) := time.format(n) if {
	n := start + max_duration
	n < max_ns
} else := time.format(max_ns - 1000000000)

human_duration(d) := sprintf("%d days", [floor(d / day_ns)]) if {
	d % day_ns == 0
} else := sprintf("%d days %d hours", [floor(d / day_ns), floor((d % day_ns) / ((60 * 60) * 1000000000))]) if {
	d >= day_ns
} else := sprintf("%d hours", [floor(d / ((60 * 60) * 1000000000))])

# The times the engine judges (internal/policy/timebounds.go), in
# nanoseconds: from 1678-01-01T00:00:00Z (min_ns) up to, not including,
# 2262-01-01T00:00:00Z (max_ns). A time outside them, or not RFC 3339,
# cannot be judged: a violation, never a pass.
min_ns := -9214560000000000000

max_ns := 9214646400000000000

supported_range := "1678-01-01T00:00:00Z..2261-12-31T23:59:59Z"

# ns(ts) is ts in nanoseconds; undefined when it cannot be judged. The
# guards come first so that time.parse_rfc3339_ns never fails: an RFC 3339
# time of a year within the range parses (the API and the CLI hand the
# engine only times they parsed, so no day is out of its month).
ns(ts) := n if {
	is_string(ts)
	regex.match(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`, ts)
	year := to_number(substring(ts, 0, 4))
	1678 <= year
	year < 2262
	n := time.parse_rfc3339_ns(ts)
	min_ns <= n
	n < max_ns
}

# unjudged(ts): ts is set and cannot be judged.
unjudged(ts) if {
	not ts in {"", null}
	not ns(ts)
}
