# METADATA
# title: SaaS credentials exist and are rotated
# description: A SaaSIntegration names its credentials Secret (credentials.secretName), the Secret exists, and it is not older than the PlatformStandard's credentials.maxAge, counted from its last rotation (rotatedAt, else createdAt). Existence and age are checked only when the Secret's metadata is known.
# custom:
#   name: credential-age
#   enforcement: warn
#   severity: medium
#   category: security
#   targets:
#     - SaaSIntegration
package guardrails.builtin.credential_age

day_ns := ((24 * 60) * 60) * 1000000000

secret_name := object.get(input.object, ["spec", "credentials", "secretName"], "")

namespace := object.get(input.object, ["metadata", "namespace"], "")

secret := s if {
	s := input.secrets[secret_name]
	is_object(s)
}

# The longest the standard lets credentials live; none means no limit.
max_age := d if {
	raw := object.get(input, ["standard", "credentials", "maxAge"], "")
	is_string(raw)
	raw != ""
	d := time.parse_duration_ns(raw)
	d > 0
}

violation contains {
	"msg": "the integration does not name the Secret holding its credentials",
	"field": "spec.credentials.secretName",
	"remediation": "Store the vendor's API credentials in a Secret in this namespace and set spec.credentials.secretName (and spec.credentials.keys) to it.",
} if {
	input.kind == "SaaSIntegration"
	secret_name in {"", null}
}

violation contains {
	"msg": sprintf("Secret %q not found%s", [secret_name, in_namespace]),
	"field": "spec.credentials.secretName",
	"remediation": sprintf("Create the Secret %q with the vendor's credentials%s, or fix spec.credentials.secretName.", [secret_name, in_namespace]),
} if {
	input.kind == "SaaSIntegration"
	is_string(secret_name)
	secret_name != ""
	object.get(secret, "exists", true) == false
}

violation contains {
	"msg": sprintf("credentials in Secret %q are %d days old (%s); the platform standard allows at most %s", [secret_name, floor(age / day_ns), since, human_duration(max_age)]),
	"field": "spec.credentials.secretName",
	"remediation": sprintf("Rotate the credentials with the vendor, update Secret %q with the new values and record the rotation (the martech.guardrails.dev/rotated-at annotation).", [secret_name]),
} if {
	input.kind == "SaaSIntegration"
	is_string(secret_name)
	secret_name != ""
	object.get(secret, "exists", true) != false
	[since, ts] := last_rotation
	age := ns(input.now) - ns(ts)
	age > max_age
}

violation contains {
	"msg": sprintf("credentials in Secret %q were %s %v, outside the supported range %s: their age cannot be judged", [secret_name, verb, ts, supported_range]),
	"field": "spec.credentials.secretName",
	"remediation": sprintf("Record the last rotation of Secret %q as an RFC 3339 time within %s (the martech.guardrails.dev/rotated-at annotation).", [secret_name, supported_range]),
} if {
	input.kind == "SaaSIntegration"
	is_string(secret_name)
	secret_name != ""
	object.get(secret, "exists", true) != false
	max_age
	[verb, ts] := last_rotation_time
	unjudged(ts)
}

in_namespace := sprintf(" in namespace %q", [namespace]) if {
	is_string(namespace)
	namespace != ""
} else := ""

# last_rotation is [description, timestamp] of the Secret's last rotation.
last_rotation := [sprintf("last rotated %s", [ts]), ts] if {
	ts := object.get(secret, "rotatedAt", "")
	is_string(ts)
	ts != ""
} else := [sprintf("created %s, never rotated", [ts]), ts] if {
	ts := object.get(secret, "createdAt", "")
	is_string(ts)
	ts != ""
}

# last_rotation_time is [verb, timestamp] of the Secret's last rotation.
last_rotation_time := ["last rotated", ts] if {
	ts := object.get(secret, "rotatedAt", "")
	not ts in {"", null}
} else := ["created", ts] if {
	ts := object.get(secret, "createdAt", "")
	not ts in {"", null}
}

human_duration(d) := sprintf("%d days", [floor(d / day_ns)]) if {
	d % day_ns == 0
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
