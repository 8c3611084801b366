# METADATA
# title: Sensitive data needs a declared legal basis
# description: A SaaSIntegration that sends a data category within (or containing) one of the PlatformStandard's sensitiveDataCategories declares spec.legalBasis, its GDPR Article 6(1) lawful basis, so that the record of processing (guardrails dataflow -o ropa) names one for every activity that handles sensitive data. It warns by default, because the field is new and integrations written before it existed should not start failing admission; a standard raises it to deny with spec.policies.enforcement.
# custom:
#   name: legal-basis
#   enforcement: warn
#   severity: medium
#   category: privacy
#   targets:
#     - SaaSIntegration
package guardrails.builtin.legal_basis

categories := c if {
	c := object.get(input.object, ["spec", "dataCategories"], [])
	is_array(c)
} else := []

sensitive := [s | some s in object.get(input, ["standard", "sensitiveDataCategories"], []); is_string(s); s != ""]

legal_basis := object.get(input.object, ["spec", "legalBasis"], "")

declared if {
	is_string(legal_basis)
	legal_basis != ""
}

# The sensitive categories sent, with the entries of the standard they match.
sent := sort([sprintf("%s (%s)", [category, concat(", ", matched)]) |
	some category in categories
	matched := sensitive_matches(category)
	count(matched) > 0
])

violation contains {
	"msg": sprintf("the integration sends sensitive data categories %s and declares no legal basis", [concat(", ", sent)]),
	"field": "spec.legalBasis",
	"remediation": "Set spec.legalBasis to the GDPR Article 6(1) lawful basis of this processing (consent, contract, legal-obligation, vital-interests, public-task or legitimate-interests), as agreed with the privacy officer.",
} if {
	input.kind == "SaaSIntegration"
	count(sent) > 0
	not declared
}

# As sensitive-data-dpa: a category is sensitive when it lies within a
# sensitive entry (user.financial.credit_card within user.financial) or
# contains one (sending user sends user.financial).
sensitive_matches(category) := sort([s |
	some s in sensitive
	related(category, s)
]) if is_string(category)

related(category, s) if within(category, s)

related(category, s) if within(s, category)

within(key, ancestor) if key == ancestor

within(key, ancestor) if {
	startswith(key, ancestor)
	substring(key, count(ancestor), 1) == "."
}
