package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Credentials reference a Secret by name; the operator reads its metadata
// (age) only and injects its keys as secretKeyRef environment variables.
// +kubebuilder:validation:XValidation:rule="!has(self.secretName) || (has(self.keys) && size(self.keys) > 0)",message="credentials.keys must list at least one key when credentials.secretName is set",fieldPath=".keys"
type Credentials struct {
	// SecretName is the Secret in the integration's namespace holding the credentials.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	SecretName string `json:"secretName,omitempty"`
	// Keys of the Secret to inject; each becomes <envPrefix><KEY>.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +kubebuilder:validation:items:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:validation:items:MaxLength=253
	Keys []string `json:"keys,omitempty"`
}

// LegalBasis is the lawful basis of a processing activity under GDPR
// Article 6(1): (a) consent, (b) contract, (c) legal-obligation, (d)
// vital-interests, (e) public-task, (f) legitimate-interests.
// +kubebuilder:validation:Enum=consent;contract;legal-obligation;vital-interests;public-task;legitimate-interests
type LegalBasis string

// The lawful bases of GDPR Article 6(1).
const (
	LegalBasisConsent             LegalBasis = "consent"
	LegalBasisContract            LegalBasis = "contract"
	LegalBasisLegalObligation     LegalBasis = "legal-obligation"
	LegalBasisVitalInterests      LegalBasis = "vital-interests"
	LegalBasisPublicTask          LegalBasis = "public-task"
	LegalBasisLegitimateInterests LegalBasis = "legitimate-interests"
)

// Retention is how long the vendor keeps the data sent through an
// integration: a number of days, a description of the rule (for example
// "until the customer unsubscribes, then 30 days"), or both.
// +kubebuilder:validation:XValidation:rule="has(self.days) || has(self.description)",message="retention needs days or a description"
type Retention struct {
	// Days is how many days the data is kept at most.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=36500
	Days *int32 `json:"days,omitempty"`
	// Description is the retention rule in plain words.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Description string `json:"description,omitempty"`
}

// SaaSIntegrationSpec declares "we use vendor X for purpose Y, sending data
// categories Z".
type SaaSIntegrationSpec struct {
	// Vendor is the name of the Vendor in the catalogue.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Vendor string `json:"vendor"`
	// Purpose in plain words, for the data-flow map and reviewers.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Purpose string `json:"purpose,omitempty"`
	// DataUse is the fideslang data use, for example `marketing.communications.email`.
	DataUse TaxonomyKey `json:"dataUse"`
	// DataCategories are the fideslang data categories sent to the vendor.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	DataCategories []TaxonomyKey `json:"dataCategories,omitempty"`
	// DataSubjects are the fideslang data subjects, for example `customer`.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	DataSubjects []TaxonomyKey `json:"dataSubjects,omitempty"`
	// Region where the vendor processes the data, for example `eu`.
	// +optional
	Region Region `json:"region,omitempty"`
	// Endpoints are the vendor hosts the workload calls; each must lie within
	// the vendor's domains. They form the egress allow-list.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	Endpoints []FQDN `json:"endpoints,omitempty"`
	// Credentials reference the Secret holding the vendor credentials.
	// +optional
	Credentials *Credentials `json:"credentials,omitempty"`
	// Owner is the team that uses the tool through this integration, and
	// how to reach it; it is listed in the Vendor's status.teams.
	// +optional
	Owner *Owner `json:"owner,omitempty"`
	// CostCenter pays for this use of the tool; it is listed in the
	// Vendor's status.costCenters.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	CostCenter string `json:"costCenter,omitempty"`
	// LegalBasis is the GDPR Article 6(1) lawful basis of this processing
	// activity; the built-in legal-basis asks for it when sensitive data
	// categories flow. It is listed in the record of processing
	// (guardrails dataflow -o ropa).
	// +optional
	LegalBasis LegalBasis `json:"legalBasis,omitempty"`
	// Retention is how long the vendor keeps the data, for the record of
	// processing.
	// +optional
	Retention *Retention `json:"retention,omitempty"`
}

// SaaSIntegrationStatus is what the operator observed.
type SaaSIntegrationStatus struct {
	CommonStatus `json:",inline"`
	// VendorStatus is the status of the vendor in the catalogue (approved,
	// restricted, prohibited) or `unknown` when it is missing.
	// +optional
	VendorStatus string `json:"vendorStatus,omitempty"`
	// Compliant is true when no deny-level policy result is in force.
	// +optional
	Compliant *bool `json:"compliant,omitempty"`
	// CredentialsFound is whether the referenced Secret exists.
	// +optional
	CredentialsFound *bool `json:"credentialsFound,omitempty"`
	// CredentialRotatedAt is when the credentials were last rotated (the
	// Secret's creation time, or its `martech.guardrails.dev/rotated-at` annotation).
	// +optional
	CredentialRotatedAt *metav1.Time `json:"credentialRotatedAt,omitempty"`
	// CredentialAge is the age of the credentials, for example `720h0m0s`.
	// +optional
	CredentialAge string `json:"credentialAge,omitempty"`
	// UsedBy lists the MarketingWorkloads that use this integration.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	UsedBy []string `json:"usedBy,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=saas,categories=martech
// +kubebuilder:printcolumn:name="Vendor",type=string,JSONPath=`.spec.vendor`
// +kubebuilder:printcolumn:name="Vendor-Status",type=string,JSONPath=`.status.vendorStatus`
// +kubebuilder:printcolumn:name="Compliant",type=boolean,JSONPath=`.status.compliant`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SaaSIntegration declares the use of a SaaS vendor for a purpose, with the
// customer data it receives.
type SaaSIntegration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares the integration.
	Spec SaaSIntegrationSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status SaaSIntegrationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SaaSIntegrationList is a list of SaaSIntegrations.
type SaaSIntegrationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SaaSIntegration `json:"items"`
}
