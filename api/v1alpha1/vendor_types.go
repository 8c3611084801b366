package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VendorCategory is what a vendor does.
// +kubebuilder:validation:Enum=crm;email;analytics;cdp;advertising;cms;personalization;social;other
type VendorCategory string

// VendorStatus is the procurement verdict on a vendor.
// +kubebuilder:validation:Enum=approved;restricted;prohibited
type VendorStatus string

const (
	VendorApproved   VendorStatus = "approved"
	VendorRestricted VendorStatus = "restricted"
	VendorProhibited VendorStatus = "prohibited"
)

// DPA is the data processing agreement with a vendor.
// +kubebuilder:validation:XValidation:rule="!self.signed || has(self.expires)",message="dpa.expires is required when dpa.signed is true",fieldPath=".expires"
type DPA struct {
	// Signed is whether a DPA is in force.
	Signed bool `json:"signed"`
	// Reference to the agreement (contract number or document link).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reference string `json:"reference,omitempty"`
	// Expires is when the DPA lapses (RFC 3339, within
	// 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the times policies can judge)"
	Expires *metav1.Time `json:"expires,omitempty"`
}

// SecurityReview is IT's security assessment of a vendor.
type SecurityReview struct {
	// Completed is whether the review was done.
	Completed bool `json:"completed"`
	// Expires is when the review must be renewed (RFC 3339, within
	// 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the times policies can judge)"
	Expires *metav1.Time `json:"expires,omitempty"`
}

// VendorSpec is an entry in the approved-vendor catalogue.
type VendorSpec struct {
	// DisplayName is the vendor's name as people know it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName"`
	// Category is what the vendor does.
	Category VendorCategory `json:"category"`
	// Status: approved vendors may be used, restricted ones warn, prohibited ones deny.
	Status VendorStatus `json:"status"`
	// Domains the vendor serves from; integration endpoints must lie within them
	// (the domain itself or a subdomain).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	Domains []FQDN `json:"domains,omitempty"`
	// EgressCIDRs are the vendor's address ranges, opened in NetworkPolicies.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="must be a CIDR such as 104.16.0.0/12",messageExpression="'must be a CIDR such as 104.16.0.0/12, not ' + self"
	EgressCIDRs []string `json:"egressCIDRs,omitempty"`
	// AllowedDataCategories are the fideslang data categories the vendor may
	// receive; a category allows every category below it.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	AllowedDataCategories []TaxonomyKey `json:"allowedDataCategories,omitempty"`
	// AllowedDataUses are the fideslang data uses the vendor may serve.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	AllowedDataUses []TaxonomyKey `json:"allowedDataUses,omitempty"`
	// ProcessingRegions are where the vendor processes data.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	ProcessingRegions []Region `json:"processingRegions,omitempty"`
	// DPA is the data processing agreement.
	// +optional
	DPA *DPA `json:"dpa,omitempty"`
	// SecurityReview is IT's security assessment.
	// +optional
	SecurityReview *SecurityReview `json:"securityReview,omitempty"`
}

// VendorStatusObserved is what the operator observed about a vendor.
type VendorStatusObserved struct {
	CommonStatus `json:",inline"`
	// Integrations is how many SaaSIntegrations use this vendor.
	// +optional
	Integrations int32 `json:"integrations,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=vendor,categories=martech
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.spec.status`
// +kubebuilder:printcolumn:name="Category",type=string,JSONPath=`.spec.category`
// +kubebuilder:printcolumn:name="DPA",type=boolean,JSONPath=`.spec.dpa.signed`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Vendor is an entry of the approved-vendor catalogue, curated by IT and procurement.
type Vendor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the catalogue entry.
	Spec VendorSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status VendorStatusObserved `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// VendorList is a list of Vendors.
type VendorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Vendor `json:"items"`
}

func init() {
	register(&Vendor{}, &VendorList{})
}
