# METADATA
# title: Images come from allowed registries
# description: The container image of a MarketingWorkload must start with one of the PlatformStandard's allowedRegistries. An image without a registry (nginx:1.27) is read as docker.io/library/nginx:1.27.
# custom:
#   name: allowed-registries
#   enforcement: deny
#   severity: high
#   category: security
#   targets:
#     - MarketingWorkload
package guardrails.builtin.allowed_registries

# The registry prefixes allowed by the standard; none means no limit.
allowed := [r | some r in object.get(input, ["standard", "allowedRegistries"], []); is_string(r); r != ""]

violation contains {
	"msg": msg,
	"field": "spec.image",
	"remediation": remediation,
} if {
	input.kind == "MarketingWorkload"
	count(allowed) > 0
	image := object.get(input.object, ["spec", "image"], "")
	is_string(image)
	image != ""
	full := normalize(image)
	not allowed_image(image, full)
	list := concat(", ", allowed)
	msg := sprintf("image %s is not from an allowed registry (allowed: %s)", [describe(image, full), list])
	remediation := sprintf("Push or mirror the image to one of the allowed registries (%s) and set spec.image to that reference, e.g. %s.", [list, example(full)])
}

allowed_image(image, _) if {
	some prefix in allowed
	startswith(image, prefix)
}

allowed_image(_, full) if {
	some prefix in allowed
	startswith(full, prefix)
}

# normalize qualifies an image reference the way Docker does: no registry
# means docker.io, and a single-segment name lives under docker.io/library.
normalize(image) := image if {
	contains(image, "/")
	has_registry(split(image, "/")[0])
}

normalize(image) := concat("", ["docker.io/", image]) if {
	contains(image, "/")
	not has_registry(split(image, "/")[0])
}

normalize(image) := concat("", ["docker.io/library/", image]) if {
	not contains(image, "/")
}

has_registry(host) if contains(host, ".")

has_registry(host) if contains(host, ":")

has_registry("localhost")

describe(image, full) := sprintf("%q", [image]) if image == full

describe(image, full) := sprintf("%q (read as %s)", [image, full]) if image != full

# example rewrites the image under the first allowed registry, keeping the
# repository's last path segment and its tag or digest. An image with no tag
# or :latest gets the placeholder :<version>, so that the suggestion is not one
# a tag-pinning policy denies in turn.
example(full) := concat("", [prefix, pinned(last_segment(full))]) if {
	prefix := allowed[0]
	endswith(prefix, "/")
}

example(full) := concat("", [prefix, "/", pinned(last_segment(full))]) if {
	prefix := allowed[0]
	not endswith(prefix, "/")
}

last_segment(full) := parts[count(parts) - 1] if parts := split(full, "/")

# pinned keeps a digest or a version tag, and puts :<version> in place of
# none or :latest.
pinned(name) := name if contains(name, "@")

pinned(name) := name if {
	not contains(name, "@")
	parts := split(name, ":")
	count(parts) == 2
	parts[1] != "latest"
}

pinned(name) := concat("", [split(name, ":")[0], ":<version>"]) if {
	not contains(name, "@")
	parts := split(name, ":")
	count(parts) == 1
}

pinned(name) := concat("", [split(name, ":")[0], ":<version>"]) if {
	not contains(name, "@")
	parts := split(name, ":")
	count(parts) == 2
	parts[1] == "latest"
}
