# METADATA
# title: Sensitive data needs a signed, unexpired DPA
# description: A SaaSIntegration that sends a data category within (or containing) one of the PlatformStandard's sensitiveDataCategories needs a data processing agreement with the vendor that is signed and not expired.
# custom:
#   name: sensitive-data-dpa
#   enforcement: deny
#   severity: critical
#   category: privacy
#   targets:
#     - SaaSIntegration
package guardrails.builtin.sensitive_data_dpa

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

categories := object.get(input.object, ["spec", "dataCategories"], [])

sensitive := [s | some s in object.get(input, ["standard", "sensitiveDataCategories"], []); is_string(s); s != ""]

dpa := d if {
	d := object.get(vendor, ["spec", "dpa"], {})
	is_object(d)
} else := {}

dpa_ref := sprintf(" (%s)", [ref]) if {
	ref := object.get(dpa, "reference", "")
	is_string(ref)
	ref != ""
} else := ""

violation contains {
	"msg": sprintf("data category %q is sensitive (%s) and vendor %q has no signed data processing agreement", [category, concat(", ", matched), vendor_name]),
	"field": sprintf("spec.dataCategories[%d]", [i]),
	"remediation": sprintf("Ask IT/procurement to sign a DPA with %q and record it on the Vendor (spec.dpa), or stop sending %q.", [vendor_name, category]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	some i, category in categories
	matched := sensitive_matches(category)
	count(matched) > 0
	not object.get(dpa, "signed", false) == true
}

violation contains {
	"msg": sprintf("data category %q is sensitive (%s) and the data processing agreement with vendor %q%s expired on %s", [category, concat(", ", matched), vendor_name, dpa_ref, expires]),
	"field": sprintf("spec.dataCategories[%d]", [i]),
	"remediation": sprintf("Ask IT/procurement to renew the DPA with %q and update spec.dpa.expires on the Vendor, or stop sending %q.", [vendor_name, category]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	some i, category in categories
	matched := sensitive_matches(category)
	count(matched) > 0
	object.get(dpa, "signed", false) == true
	expires := object.get(dpa, "expires", null)
	is_string(expires)

	# The one expiry rule (internal/policy/expiry.go): valid while now is
	# strictly before the expiry, expired from that instant on.
	ns(expires) <= ns(input.now)
}

violation contains {
	"msg": sprintf("data category %q is sensitive (%s) and the data processing agreement with vendor %q%s expires %v, outside the supported range %s: it cannot be judged", [category, concat(", ", matched), vendor_name, dpa_ref, expires, supported_range]),
	"field": sprintf("spec.dataCategories[%d]", [i]),
	"remediation": sprintf("Ask IT/procurement to correct spec.dpa.expires on the Vendor %q (an RFC 3339 time within %s), or stop sending %q.", [vendor_name, supported_range, category]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	some i, category in categories
	matched := sensitive_matches(category)
	count(matched) > 0
	object.get(dpa, "signed", false) == true
	expires := object.get(dpa, "expires", null)

	# As expiry.go: an expiry that cannot be judged is not a valid one.
	unjudged(expires)
}

# A category is sensitive when it lies within a sensitive entry (user.financial.credit_card
# within user.financial) or contains one (sending user sends user.financial).
sensitive_matches(category) := sort([s |
	some s in sensitive
	related(category, s)
]) if is_string(category)

related(category, s) if within(category, s)

related(category, s) if within(s, category)

# within: key equals ancestor or lies below it in the dotted hierarchy.
within(key, ancestor) if key == ancestor

within(key, ancestor) if {
	startswith(key, ancestor)
	substring(key, count(ancestor), 1) == "."
}

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
