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
	ahead := time.parse_rfc3339_ns(expires_at) - time.parse_rfc3339_ns(input.now)
	ahead > max_duration
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

latest := time.format(time.parse_rfc3339_ns(input.now) + max_duration)

human_duration(ns) := sprintf("%d days", [floor(ns / day_ns)]) if {
	ns % day_ns == 0
} else := sprintf("%d days %d hours", [floor(ns / day_ns), floor((ns % day_ns) / ((60 * 60) * 1000000000))]) if {
	ns >= day_ns
} else := sprintf("%d hours", [floor(ns / ((60 * 60) * 1000000000))])
