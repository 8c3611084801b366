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
	"remediation": sprintf("Set spec.campaign.endsAt to %s or earlier (split longer campaigns into several), or ask IT for a PolicyException.", [time.format(start + max_duration)]),
} if {
	input.kind == "MarketingWorkload"
	[start, end] := window
	end - start > max_duration
}

window := [time.parse_rfc3339_ns(starts_at), time.parse_rfc3339_ns(ends_at)] if {
	is_string(starts_at)
	is_string(ends_at)
	starts_at != ""
	ends_at != ""
}

human_duration(ns) := sprintf("%d days", [floor(ns / day_ns)]) if {
	ns % day_ns == 0
} else := sprintf("%d days %d hours", [floor(ns / day_ns), floor((ns % day_ns) / ((60 * 60) * 1000000000))]) if {
	ns >= day_ns
} else := sprintf("%d hours", [floor(ns / ((60 * 60) * 1000000000))])
