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
	age := time.parse_rfc3339_ns(input.now) - time.parse_rfc3339_ns(ts)
	age > max_age
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

human_duration(ns) := sprintf("%d days", [floor(ns / day_ns)]) if {
	ns % day_ns == 0
} else := sprintf("%d hours", [floor(ns / ((60 * 60) * 1000000000))])
