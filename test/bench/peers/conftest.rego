# The `pinned-image-tags` rule (guardrailpolicy.yaml) as a conftest policy:
# conftest evaluates each YAML document as input and reports deny messages.
package main

disallowed_tags := {"latest", "main", "dev"}

tag(image) := t if {
	not contains(image, "@")
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
}

deny contains msg if {
	input.kind == "MarketingWorkload"
	image := input.spec.image
	not contains(image, "@")
	not tag(image)
	msg := sprintf("image %q has no tag", [image])
}

deny contains msg if {
	input.kind == "MarketingWorkload"
	t := tag(input.spec.image)
	t in disallowed_tags
	msg := sprintf("image tag %q is not pinned", [t])
}
