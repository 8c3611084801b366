# METADATA
# title: Exposed hosts are under allowed domains
# description: The public host of an exposed MarketingWorkload (exposure.host) must end with one of the PlatformStandard's ingress.allowedHostSuffixes. A suffix without a leading dot matches only at a label boundary (acme.com allows promo.acme.com, not evilacme.com).
# custom:
#   name: exposure-host
#   enforcement: deny
#   severity: high
#   category: security
#   targets:
#     - MarketingWorkload
package guardrails.builtin.exposure_host

# Allowed host suffixes; none means any host.
suffixes := [lower(s) | some s in object.get(input, ["standard", "ingress", "allowedHostSuffixes"], []); is_string(s); trim_left(s, ".") != ""]

host := lower(trim_right(h, ".")) if {
	h := object.get(input.object, ["spec", "exposure", "host"], "")
	is_string(h)
	h != ""
}

violation contains {
	"msg": sprintf("host %q is not under an allowed domain (allowed suffixes: %s)", [host, concat(", ", suffixes)]),
	"field": "spec.exposure.host",
	"remediation": sprintf("Use a host under one of the allowed suffixes, e.g. %s, or ask IT to add the domain to the platform standard's ingress.allowedHostSuffixes.", [example]),
} if {
	input.kind == "MarketingWorkload"
	count(suffixes) > 0
	not allowed_host(host)
}

# A suffix with a leading dot allows only subdomains.
allowed_host(h) if {
	some s in suffixes
	startswith(s, ".")
	endswith(h, s)
}

# A suffix without a leading dot allows the domain itself and its subdomains.
allowed_host(h) if {
	some s in suffixes
	not startswith(s, ".")
	h == s
}

allowed_host(h) if {
	some s in suffixes
	not startswith(s, ".")
	endswith(h, concat("", [".", s]))
}

# example keeps the first label of the host under the first allowed suffix.
example := concat(".", [split(host, ".")[0], trim_left(suffixes[0], ".")])
