# METADATA
# title: Vendors receive only the data categories they are allowed
# description: Every data category a SaaSIntegration sends must lie within one of the vendor's allowedDataCategories (allowing user.contact allows user.contact.email). Unknown keys are the taxonomy-keys check's.
# custom:
#   name: vendor-data-categories
#   enforcement: deny
#   severity: high
#   category: privacy
#   targets:
#     - SaaSIntegration
package guardrails.builtin.vendor_data_categories

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

categories := object.get(input.object, ["spec", "dataCategories"], [])

allowed := [c | some c in object.get(vendor, ["spec", "allowedDataCategories"], []); is_string(c)]

violation contains {
	"msg": sprintf("vendor %q is not allowed to receive data category %q (allowed: %s)", [vendor_name, category, allowed_text]),
	"field": sprintf("spec.dataCategories[%d]", [i]),
	"remediation": sprintf("Stop sending %q to %q (remove it from spec.dataCategories or send a category within %s), or ask IT to add it to the vendor's allowedDataCategories.", [category, vendor_name, allowed_text]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	some i, category in categories
	is_string(category)
	not unknown(category)
	not allowed_category(category)
}

allowed_text := concat(", ", allowed) if {
	count(allowed) > 0
} else := "none"

allowed_category(category) if {
	some a in allowed
	within(category, a)
}

# within: key equals ancestor or lies below it in the dotted hierarchy.
within(key, ancestor) if key == ancestor

within(key, ancestor) if {
	startswith(key, ancestor)
	substring(key, count(ancestor), 1) == "."
}

# unknown is only decided when the taxonomy is loaded. An unknown key is
# the engine's taxonomy-keys check's to report (with the nearest known keys),
# so this policy says nothing of it.
unknown(key) if {
	table := data.guardrails.taxonomy.data_category
	not known(table, key)
}

known(table, key) if {
	is_string(key)
	_ = table[key]
}
