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

// The procurement verdicts, as the built-in policy vendor-approved reads them.
const (
	// VendorApproved admits the vendor's integrations.
	VendorApproved VendorStatus = "approved"
	// VendorRestricted admits them with a warning.
	VendorRestricted VendorStatus = "restricted"
	// VendorProhibited denies them.
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

// Money is an amount in a currency. The amount is a decimal string, never a
// float, so that cents survive every round trip.
type Money struct {
	// Amount is a non-negative decimal number with at most two decimals,
	// for example `24000.00`.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$`
	Amount string `json:"amount"`
	// Currency is the ISO 4217 code, for example `EUR` or `USD`.
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	Currency string `json:"currency"`
}

// Contract is the commercial agreement with a vendor: what it costs and
// when it renews. Every field is optional; a catalogue entry without a
// contract stays valid.
// +kubebuilder:validation:XValidation:rule="!has(self.startsAt) || !has(self.renewsAt) || self.renewsAt > self.startsAt",message="contract.renewsAt must be after contract.startsAt",fieldPath=".renewsAt"
// +kubebuilder:validation:XValidation:rule="!has(self.noticeDays) || has(self.renewsAt)",message="contract.noticeDays needs contract.renewsAt (notice is given that many days before it)",fieldPath=".noticeDays"
type Contract struct {
	// Reference is the contract number or a link to the document.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reference string `json:"reference,omitempty"`
	// AnnualCost is what the contract costs per year.
	// +optional
	AnnualCost *Money `json:"annualCost,omitempty"`
	// StartsAt is when the current term began (RFC 3339).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="contract.startsAt must be between 1678-01-01 and 2262-01-01"
	StartsAt *metav1.Time `json:"startsAt,omitempty"`
	// RenewsAt is when the current term ends and the contract renews
	// (RFC 3339).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="contract.renewsAt must be between 1678-01-01 and 2262-01-01"
	RenewsAt *metav1.Time `json:"renewsAt,omitempty"`
	// NoticeDays is how many days before renewsAt notice must be given to
	// end or renegotiate the contract; the notice deadline is renewsAt
	// minus noticeDays days.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	NoticeDays *int32 `json:"noticeDays,omitempty"`
	// AutoRenew is whether the contract renews for another term unless
	// notice is given.
	// +optional
	AutoRenew bool `json:"autoRenew,omitempty"`
	// Seats is how many licences the contract buys.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000000
	Seats *int32 `json:"seats,omitempty"`
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
	// Owner is the business owner: the team that answers for the tool, and
	// how to reach it.
	// +optional
	Owner *Owner `json:"owner,omitempty"`
	// Contract is the commercial agreement: cost, term, renewal and notice.
	// +optional
	Contract *Contract `json:"contract,omitempty"`
}

// Deadline is a date by which something about a vendor must be done.
type Deadline struct {
	// What the deadline is: `notice` (the last day to give notice on the
	// contract), `renewal` (contract.renewsAt), `dpa` (dpa.expires) or
	// `security-review` (securityReview.expires).
	// +kubebuilder:validation:Enum=notice;renewal;dpa;security-review
	What string `json:"what"`
	// At is the instant of the deadline; it has passed from that instant on.
	At metav1.Time `json:"at"`
}

// AnnouncedDeadline is a deadline a DeadlineApproaching event was emitted
// for, so that each deadline and window is announced once.
type AnnouncedDeadline struct {
	Deadline `json:",inline"`
	// WindowDays is the window (days before the deadline) the event announced.
	WindowDays int32 `json:"windowDays"`
}

// VendorStatusObserved is what the operator observed about a vendor.
type VendorStatusObserved struct {
	CommonStatus `json:",inline"`
	// Integrations is how many SaaSIntegrations use this vendor.
	// +optional
	Integrations int32 `json:"integrations,omitempty"`
	// Teams are the owner teams (spec.owner.team) of the SaaSIntegrations
	// that use this vendor, sorted.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Teams []string `json:"teams,omitempty"`
	// CostCenters are the cost centres (spec.costCenter) of the
	// SaaSIntegrations that use this vendor, sorted.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	CostCenters []string `json:"costCenters,omitempty"`
	// NoticeBy is the contract's notice deadline: spec.contract.renewsAt
	// minus spec.contract.noticeDays days.
	// +optional
	NoticeBy *metav1.Time `json:"noticeBy,omitempty"`
	// NextDeadline is the earliest deadline that has not passed: the notice
	// deadline, the renewal, the DPA's or the security review's expiry.
	// +optional
	NextDeadline *Deadline `json:"nextDeadline,omitempty"`
	// LastUsedAt is when the operator last saw a SaaSIntegration use this
	// vendor: written when the last one goes away. Empty while none has
	// gone; the unused clock of vendor-unused then starts at the later of
	// the vendor's creation and its contract's start.
	// +optional
	LastUsedAt *metav1.Time `json:"lastUsedAt,omitempty"`
	// Announced are the deadlines a DeadlineApproaching event was emitted
	// for (each deadline and window once).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	Announced []AnnouncedDeadline `json:"announced,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=vendor,categories=martech
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.spec.status`
// +kubebuilder:printcolumn:name="Category",type=string,JSONPath=`.spec.category`
// +kubebuilder:printcolumn:name="DPA",type=boolean,JSONPath=`.spec.dpa.signed`
// +kubebuilder:printcolumn:name="Renews",type=string,JSONPath=`.spec.contract.renewsAt`
// +kubebuilder:printcolumn:name="Notice-By",type=string,JSONPath=`.status.noticeBy`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextDeadline.what`
// +kubebuilder:printcolumn:name="Next-At",type=string,JSONPath=`.status.nextDeadline.at`,priority=1
// +kubebuilder:printcolumn:name="Integrations",type=integer,JSONPath=`.status.integrations`,priority=1
// +kubebuilder:printcolumn:name="Annual-Cost",type=string,JSONPath=`.spec.contract.annualCost.amount`,priority=1
// +kubebuilder:printcolumn:name="Currency",type=string,JSONPath=`.spec.contract.annualCost.currency`,priority=1
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner.team`,priority=1
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
