# METADATA
# title: Vendors are in the catalogue and not prohibited
# description: The vendor of a SaaSIntegration must exist in the Vendor catalogue. A prohibited vendor denies the integration; a restricted vendor admits it with a warning.
# custom:
#   name: vendor-approved
#   enforcement: deny
#   severity: critical
#   category: vendor
#   targets:
#     - SaaSIntegration
package guardrails.builtin.vendor_approved

vendor_name := object.get(input.object, ["spec", "vendor"], "")

vendor := v if {
	v := input.vendors[vendor_name]
	is_object(v)
}

status := object.get(vendor, ["spec", "status"], "")

display := sprintf("%q (%s)", [vendor_name, name]) if {
	name := object.get(vendor, ["spec", "displayName"], "")
	is_string(name)
	name != ""
	name != vendor_name
} else := sprintf("%q", [vendor_name])

violation contains {
	"msg": "the integration does not name a vendor",
	"field": "spec.vendor",
	"remediation": "Set spec.vendor to the name of a Vendor in the catalogue (kubectl get vendors).",
} if {
	input.kind == "SaaSIntegration"
	vendor_name == ""
}

violation contains {
	"msg": sprintf("vendor %q is not in the vendor catalogue", [vendor_name]),
	"field": "spec.vendor",
	"remediation": sprintf("Use the name of a Vendor from the catalogue (kubectl get vendors), or ask IT/procurement to review %q and add it to the catalogue.", [vendor_name]),
} if {
	input.kind == "SaaSIntegration"
	is_string(vendor_name)
	vendor_name != ""
	not vendor
}

violation contains {
	"msg": sprintf("vendor %s is prohibited: no data may be sent to it", [display]),
	"field": "spec.vendor",
	"remediation": "Remove this integration and use an approved vendor for the same purpose (kubectl get vendors shows each vendor's status).",
} if {
	input.kind == "SaaSIntegration"
	status == "prohibited"
}

violation contains {
	"msg": sprintf("vendor %s is restricted: use it only with IT's agreement", [display]),
	"field": "spec.vendor",
	"remediation": "Prefer an approved vendor for the same purpose, or ask IT for a PolicyException that records the agreement.",
	"enforcement": "warn",
} if {
	input.kind == "SaaSIntegration"
	status == "restricted"
}

violation contains {
	"msg": sprintf("vendor %s has status %q, not approved", [display, status]),
	"field": "spec.vendor",
	"remediation": "Ask IT/procurement to finish reviewing the vendor and set its status to approved, or use an approved vendor.",
} if {
	input.kind == "SaaSIntegration"
	vendor
	not status in {"approved", "restricted", "prohibited"}
}
