package guardrails.builtin.legal_basis_test

import data.guardrails.builtin.legal_basis

integration(categories, basis) := {
	"apiVersion": "martech.guardrails.dev/v1alpha1",
	"kind": "SaaSIntegration",
	"metadata": {"name": "crm-sync", "namespace": "growth-marketing"},
	"spec": object.union(
		{"vendor": "hubspot", "dataUse": "marketing.communications.email", "dataCategories": categories},
		{k: v | some k, v in {"legalBasis": basis}; v != ""},
	),
}

review(categories, basis) := {
	"kind": "SaaSIntegration",
	"operation": "CREATE",
	"object": integration(categories, basis),
	"vendors": {},
	"standard": {"sensitiveDataCategories": ["user.financial", "user.health_and_medical"]},
	"now": "2026-12-01T00:00:00Z",
}

test_sensitive_without_basis if {
	vs := legal_basis.violation with input as review(["user.contact.email", "user.financial.bank_account"], "")
	vs == {{
		"msg": "the integration sends sensitive data categories user.financial.bank_account (user.financial) and declares no legal basis",
		"field": "spec.legalBasis",
		"remediation": "Set spec.legalBasis to the GDPR Article 6(1) lawful basis of this processing (consent, contract, legal-obligation, vital-interests, public-task or legitimate-interests), as agreed with the privacy officer.",
	}}
}

test_ancestor_of_sensitive_counts if {
	vs := legal_basis.violation with input as review(["user"], "")
	count(vs) == 1
	some v in vs
	v.msg == "the integration sends sensitive data categories user (user.financial, user.health_and_medical) and declares no legal basis"
}

test_sensitive_with_basis_passes if {
	count(legal_basis.violation) == 0 with input as review(["user.financial"], "contract")
}

test_not_sensitive_passes if {
	count(legal_basis.violation) == 0 with input as review(["user.contact.email", "user.device.cookie_id"], "")
}

test_no_standard_passes if {
	count(legal_basis.violation) == 0 with input as object.remove(review(["user.financial"], ""), ["standard"])
}

test_sibling_prefix_is_not_sensitive if {
	# user.financialx is not below user.financial.
	count(legal_basis.violation) == 0 with input as review(["user.financialx"], "")
}

test_other_kinds_pass if {
	count(legal_basis.violation) == 0 with input as object.union(review(["user.financial"], ""), {"kind": "MarketingWorkload"})
}
