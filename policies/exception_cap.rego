# METADATA
# title: Exceptions name real policies and expire in time
# description: A PolicyException must name only existing policies (built-in or custom), and its expiresAt must be no further ahead than the PlatformStandard's policies.exceptionMaxDuration (90 days, 2160h, when unset).
# custom:
#   name: exception-cap
#   enforcement: deny
#   severity: high
#   category: governance
#   targets:
#     - PolicyException
package guardrails.builtin.exception_cap

day_ns := ((24 * 60) * 60) * 1000000000

default_max := "2160h"

# The cap from the standard, or 90 days when it sets none.
max_duration := time.parse_duration_ns(raw) if {
	raw := object.get(input, ["standard", "policies", "exceptionMaxDuration"], "")
	is_string(raw)
	raw != ""
} else := time.parse_duration_ns(default_max)

named := object.get(input.object, ["spec", "policies"], [])

expires_at := object.get(input.object, ["spec", "expiresAt"], "")

known_names := sort([n | some n in input.policies; is_string(n)]) if {
	is_array(input.policies)
} else := sort([n | some n, _ in input.policies; is_string(n)]) if {
	is_object(input.policies)
}

violation contains {
	"msg": sprintf("policy %q named in the exception does not exist", [name]),
	"field": sprintf("spec.policies[%d]", [i]),
	"remediation": unknown_remediation(name),
} if {
	input.kind == "PolicyException"
	known_names
	some i, name in named
	not name in known_names
}

violation contains {
	"msg": "the exception has no expiry",
	"field": "spec.expiresAt",
	"remediation": sprintf("Set spec.expiresAt to an RFC 3339 time at most %s from now, e.g. %s.", [human_duration(max_duration), latest]),
} if {
	input.kind == "PolicyException"
	expires_at in {"", null}
}

violation contains {
	"msg": sprintf("the exception expires %s, %s from now; exceptions may last at most %s", [expires_at, human_duration(ahead), human_duration(max_duration)]),
	"field": "spec.expiresAt",
	"remediation": sprintf("Set spec.expiresAt to %s or earlier and renew the exception if it is still needed then.", [latest]),
} if {
	input.kind == "PolicyException"
	is_string(expires_at)
	expires_at != ""
	ahead := ns(expires_at) - ns(input.now)
	ahead > max_duration
}

violation contains {
	"msg": sprintf("the exception expires %v, outside the supported range %s: it cannot be judged", [expires_at, supported_range]),
	"field": "spec.expiresAt",
	"remediation": sprintf("Set spec.expiresAt to an RFC 3339 time at most %s from now, e.g. %s.", [human_duration(max_duration), latest]),
} if {
	input.kind == "PolicyException"
	unjudged(expires_at)
}

unknown_remediation(name) := sprintf("Did you mean %s? Name existing policies only (`guardrails policies` lists them).", [concat(" or ", [sprintf("%q", [n]) | some n in similar])]) if {
	similar := [n |
		some n in known_names
		is_string(name)
		name != ""
		similar_name(n, name)
	]
	count(similar) > 0
} else := sprintf("Name existing policies only (`guardrails policies` lists them): %s.", [concat(", ", known_names)])

# Names that differ only at the end (workload-limit for workload-limits).
similar_name(known, name) if startswith(known, name)

similar_name(known, name) if startswith(name, known)

# The latest expiry the cap allows, or the end of the supported range when
# the cap reaches past it.
latest := time.format(n) if {
	n := ns(input.now) + max_duration
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
