package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WorkloadDefaults are what every workload gets unless it asks otherwise.
type WorkloadDefaults struct {
	// Resources applied when a workload sets none; also the ceiling that
	// workload-limits checks (limits).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// MaxReplicas caps a workload's replicas.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`
	// SecurityContext overrides parts of the restricted container security
	// context (for example runAsUser); restricted settings always hold.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
}

// IngressStandard is how exposed workloads are published.
type IngressStandard struct {
	// ClassName is the IngressClass to use.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ClassName string `json:"className,omitempty"`
	// AllowedHostSuffixes: an exposed host must end with one of these
	// (for example `.campaigns.example.com`).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +kubebuilder:validation:items:Pattern=`^\.?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:items:MaxLength=253
	AllowedHostSuffixes []string `json:"allowedHostSuffixes,omitempty"`
	// TLSClusterIssuer is the cert-manager ClusterIssuer annotated on ingresses.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSClusterIssuer string `json:"tlsClusterIssuer,omitempty"`
}

// NetworkStandard is how workloads are fenced.
type NetworkStandard struct {
	// IngressNamespace is the namespace of the ingress controller, the only
	// source of traffic to exposed workloads.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	IngressNamespace string `json:"ingressNamespace,omitempty"`
	// EgressProxy is the forward proxy (host:port) workloads may reach.
	// +optional
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$`
	EgressProxy string `json:"egressProxy,omitempty"`
}

// CampaignStandard bounds campaigns.
type CampaignStandard struct {
	// MaxDuration is the longest a campaign may run (for example `2160h`).
	// +optional
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
	// ArchiveAfter is how long after its end a campaign is archived.
	// +optional
	ArchiveAfter *metav1.Duration `json:"archiveAfter,omitempty"`
}

// CredentialsStandard governs SaaS credentials.
type CredentialsStandard struct {
	// MaxAge is how old credentials may get before they must be rotated.
	// +optional
	MaxAge *metav1.Duration `json:"maxAge,omitempty"`
}

// DataResidency limits where customer data is processed.
type DataResidency struct {
	// AllowedRegions for SaaS processing; empty allows any.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	AllowedRegions []Region `json:"allowedRegions,omitempty"`
}

// PolicySettings override built-in policies by name.
type PolicySettings struct {
	// Disabled lists built-in policies that do not run.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Disabled []string `json:"disabled,omitempty"`
	// Enforcement changes a policy's enforcement by name.
	// +optional
	Enforcement map[string]Enforcement `json:"enforcement,omitempty"`
	// ExceptionMaxDuration caps how far ahead a PolicyException may expire
	// (default 2160h, 90 days).
	// +optional
	ExceptionMaxDuration *metav1.Duration `json:"exceptionMaxDuration,omitempty"`
}

// PortfolioStandard sets when the vendor portfolio's dates and usage
// become findings.
type PortfolioStandard struct {
	// RenewalWarningDays is how many days before a vendor's notice deadline
	// (and its renewal, DPA and security-review expiries) vendor-renewal
	// finds it and the operator emits DeadlineApproaching (default 60).
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	RenewalWarningDays *int32 `json:"renewalWarningDays,omitempty"`
	// UnusedAfterDays is how many days an approved vendor with a contract
	// may go without a SaaSIntegration before vendor-unused finds it
	// (default 90).
	// +optional
	// +kubebuilder:default=90
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	UnusedAfterDays *int32 `json:"unusedAfterDays,omitempty"`
}

// PlatformStandardSpec is the set of standards the reconciler provisions with
// and the policies check against.
type PlatformStandardSpec struct {
	// AllowedRegistries are image prefixes, for example `ghcr.io/acme/`.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
	// WorkloadDefaults are resources, maximum replicas and security context.
	// +optional
	WorkloadDefaults WorkloadDefaults `json:"workloadDefaults,omitempty"`
	// Ingress is how exposed workloads are published.
	// +optional
	Ingress IngressStandard `json:"ingress,omitempty"`
	// Network is how workloads are fenced.
	// +optional
	Network NetworkStandard `json:"network,omitempty"`
	// Campaign bounds campaigns.
	// +optional
	Campaign CampaignStandard `json:"campaign,omitempty"`
	// Credentials governs SaaS credential age.
	// +optional
	Credentials CredentialsStandard `json:"credentials,omitempty"`
	// DataResidency limits where data is processed.
	// +optional
	DataResidency DataResidency `json:"dataResidency,omitempty"`
	// SensitiveDataCategories need a signed, unexpired DPA with the vendor.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	SensitiveDataCategories []TaxonomyKey `json:"sensitiveDataCategories,omitempty"`
	// ManagedNamespaceSelector opts namespaces into the guard that denies raw
	// Deployments, Services and Ingresses not owned by a MarketingWorkload.
	// For a non-default standard it also selects the namespaces it applies to.
	// +optional
	ManagedNamespaceSelector *metav1.LabelSelector `json:"managedNamespaceSelector,omitempty"`
	// Policies disables built-ins or changes their enforcement by name.
	// +optional
	Policies PolicySettings `json:"policies,omitempty"`
	// Portfolio sets when vendor deadlines and unused vendors become
	// findings (vendor-renewal, vendor-unused).
	// +optional
	Portfolio *PortfolioStandard `json:"portfolio,omitempty"`
}

// PlatformStandardStatus is what the operator observed.
type PlatformStandardStatus struct {
	CommonStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=pstd,categories=martech
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// PlatformStandard holds the standards IT sets for marketing workloads. The
// one named `default` applies everywhere another does not.
type PlatformStandard struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the standards.
	Spec PlatformStandardSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status PlatformStandardStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PlatformStandardList is a list of PlatformStandards.
type PlatformStandardList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PlatformStandard `json:"items"`
}
