# METADATA
# title: Vendors use data only for allowed purposes
# description: The data use of a SaaSIntegration must lie within one of the vendor's allowedDataUses (allowing marketing allows marketing.communications.email). Unknown keys are the taxonomy-keys check's.
# custom:
#   name: vendor-data-use
#   enforcement: deny
#   severity: high
#   category: privacy
#   targets:
#     - SaaSIntegration
package guardrails.builtin.vendor_data_use

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

data_use := object.get(input.object, ["spec", "dataUse"], "")

allowed := [u | some u in object.get(vendor, ["spec", "allowedDataUses"], []); is_string(u)]

violation contains {
	"msg": "the integration does not say what the data is used for",
	"field": "spec.dataUse",
	"remediation": "Set spec.dataUse to a fideslang data use, e.g. marketing.communications.email or analytics.reporting.",
} if {
	input.kind == "SaaSIntegration"
	data_use in {"", null}
}

violation contains {
	"msg": sprintf("vendor %q is not allowed to use data for %q (allowed uses: %s)", [vendor_name, data_use, allowed_text]),
	"field": "spec.dataUse",
	"remediation": sprintf("Use this vendor only for a data use within %s, pick another vendor for %q, or ask IT to add it to the vendor's allowedDataUses.", [allowed_text, data_use]),
} if {
	input.kind == "SaaSIntegration"
	vendor
	is_string(data_use)
	data_use != ""
	not unknown(data_use)
	not allowed_use(data_use)
}

allowed_text := concat(", ", allowed) if {
	count(allowed) > 0
} else := "none"

allowed_use(use) if {
	some a in allowed
	within(use, a)
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
	table := data.guardrails.taxonomy.data_use
	not known(table, key)
}

known(table, key) if _ = table[key]
