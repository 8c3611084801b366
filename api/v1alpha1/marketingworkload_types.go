package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Owner says who answers for a workload.
type Owner struct {
	// Team is the marketing team that owns the workload; it becomes the
	// `martech.guardrails.dev/team` label on every child object.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Team string `json:"team,omitempty"`
	// Contact is an e-mail address (a person or a list) to reach the owner.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	Contact string `json:"contact,omitempty"`
}

// Campaign bounds a workload in time. Before startsAt the workload is
// Scheduled (replicas 0), between startsAt and endsAt it is Active, after
// endsAt it is Ended (replicas 0, no ingress), and after the standard's
// archiveAfter it is Archived (children deleted, the record kept).
// +kubebuilder:validation:XValidation:rule="self.endsAt > self.startsAt",message="campaign.endsAt must be after campaign.startsAt",fieldPath=".endsAt"
type Campaign struct {
	// Name of the campaign, used as the `martech.guardrails.dev/campaign` label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// StartsAt is when the campaign goes live (RFC 3339, within
	// 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z like every date).
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the times policies can judge)"
	StartsAt metav1.Time `json:"startsAt"`
	// EndsAt is when the campaign stops serving (RFC 3339, within the same
	// range); must be after startsAt.
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the times policies can judge)"
	EndsAt metav1.Time `json:"endsAt"`
}

// EnvVar is a plain environment variable. Credentials never go here: they come
// from SaaSIntegrations by reference.
type EnvVar struct {
	// Name of the variable.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// Value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// Exposure publishes the workload through a TLS ingress.
type Exposure struct {
	// Host is the public hostname; it must lie under one of the standard's
	// allowed host suffixes.
	Host FQDN `json:"host"`
	// Path served on the host; "/" when empty (applied when the Ingress is
	// rendered, never written into the object).
	// +optional
	// +kubebuilder:validation:Pattern=`^/[-A-Za-z0-9_./~%]*$`
	// +kubebuilder:validation:MaxLength=256
	Path string `json:"path,omitempty"`
}

// IntegrationRef names a SaaSIntegration in the same namespace whose
// credentials are injected into the workload.
type IntegrationRef struct {
	// Name of the SaaSIntegration in the workload's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// EnvPrefix is prepended to each credential key to form the environment
	// variable name (for example HUBSPOT_ + API_KEY).
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Z0-9_]*$`
	// +kubebuilder:validation:MaxLength=64
	EnvPrefix string `json:"envPrefix,omitempty"`
}

// MarketingWorkloadSpec is what a marketing engineer asks to run.
type MarketingWorkloadSpec struct {
	// Owner says which team answers for the workload and how to reach it.
	// +optional
	Owner Owner `json:"owner,omitempty"`
	// CostCenter is charged for the workload; it becomes the
	// `martech.guardrails.dev/cost-center` label.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	CostCenter string `json:"costCenter,omitempty"`
	// Campaign bounds the workload in time; without it the workload runs
	// until deleted.
	// +optional
	Campaign *Campaign `json:"campaign,omitempty"`
	// Image is the container image, from one of the standard's allowed registries.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$`
	Image string `json:"image"`
	// Replicas while the campaign is active; 1 when unset (applied when the
	// Deployment is rendered, never written into the object).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`
	// Port the container listens on; 8080 when unset (applied at render time).
	// +optional
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// Env holds plain environment variables.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Env []EnvVar `json:"env,omitempty"`
	// Resources for the container; when empty, the PlatformStandard's
	// workloadDefaults.resources apply at render time (status.effective shows
	// them), so a change of the standard's defaults reaches the workload.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// Exposure publishes the workload on a TLS ingress; omit for internal services.
	// +optional
	Exposure *Exposure `json:"exposure,omitempty"`
	// Integrations are SaaSIntegrations in this namespace the workload uses.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	Integrations []IntegrationRef `json:"integrations,omitempty"`
	// DataCategories are the fideslang data categories the workload handles;
	// it must declare every category its integrations send.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	DataCategories []TaxonomyKey `json:"dataCategories,omitempty"`
}

// WorkloadPhase is where a workload is in its life.
// +kubebuilder:validation:Enum=Scheduled;Active;Ended;Archived;Blocked
type WorkloadPhase string

const (
	// PhaseScheduled is before startsAt: the children exist, at 0 replicas.
	PhaseScheduled WorkloadPhase = "Scheduled"
	// PhaseActive is between startsAt and endsAt: the workload serves.
	PhaseActive WorkloadPhase = "Active"
	// PhaseEnded is after endsAt: 0 replicas, no ingress.
	PhaseEnded WorkloadPhase = "Ended"
	// PhaseArchived is after archiveAfter: the children are deleted, the
	// record kept. It is final for a campaign.
	PhaseArchived WorkloadPhase = "Archived"
	// PhaseBlocked is a workload policy denies: nothing new is applied and
	// what already runs is left as it was.
	PhaseBlocked WorkloadPhase = "Blocked"
)

// ResourceRef names a child object the operator manages.
type ResourceRef struct {
	// APIVersion of the child.
	APIVersion string `json:"apiVersion"`
	// Kind of the child.
	Kind string `json:"kind"`
	// Name of the child.
	Name string `json:"name"`
	// Version is the child's metadata.generation (its resourceVersion for
	// kinds without a generation) as the operator's last apply left it. The
	// manager caches children as metadata only; a live child at another
	// version was changed by someone else and is applied again.
	// +optional
	Version string `json:"version,omitempty"`
}

// EffectiveValues are what a workload runs with once the PlatformStandard's
// defaults are applied: computed on every reconcile, never stored in spec.
type EffectiveValues struct {
	// Resources of the container: spec.resources, else the standard's
	// workloadDefaults.resources; absent when neither says anything.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// Replicas while Active: spec.replicas, else 1.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Labels are the standard labels every child carries, derived from the
	// spec (name, team, cost centre, campaign).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// MarketingWorkloadStatus is what the operator observed and did.
type MarketingWorkloadStatus struct {
	CommonStatus `json:",inline"`
	// Phase is Scheduled, Active, Ended, Archived or Blocked.
	// +optional
	Phase WorkloadPhase `json:"phase,omitempty"`
	// Compliant is true when no deny-level policy result is in force.
	// +optional
	Compliant *bool `json:"compliant,omitempty"`
	// URL where the workload is served, when exposed and active.
	// +optional
	URL string `json:"url,omitempty"`
	// NextTransition is when the phase will next change by itself.
	// +optional
	NextTransition *metav1.Time `json:"nextTransition,omitempty"`
	// Resources are the child objects the operator manages.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Resources []ResourceRef `json:"resources,omitempty"`
	// ArchivedAt is when the campaign was archived. Archived is final for
	// that campaign: only an endsAt after this instant (new dates) makes
	// the workload run again; a change of the standard's archiveAfter
	// does not.
	// +optional
	ArchivedAt *metav1.Time `json:"archivedAt,omitempty"`

	// Effective are the values the workload runs with, the standard's
	// defaults applied (spec keeps only what was applied).
	// +optional
	Effective *EffectiveValues `json:"effective,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=mw,categories=martech
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Compliant",type=boolean,JSONPath=`.status.compliant`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Ends",type=string,JSONPath=`.spec.campaign.endsAt`,description="When the campaign stops serving (RFC 3339); a string column because a date column renders future times as <invalid>"
// +kubebuilder:printcolumn:name="CPU",type=string,JSONPath=`.status.effective.resources.limits.cpu`,priority=1,description="Effective CPU limit (spec.resources, else the standard's default)"
// +kubebuilder:printcolumn:name="Memory",type=string,JSONPath=`.status.effective.resources.limits.memory`,priority=1,description="Effective memory limit (spec.resources, else the standard's default)"
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.effective.replicas`,priority=1,description="Effective replicas while Active"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// MarketingWorkload is a container workload for a campaign, microsite, tag
// server or personalization service, provisioned with IT-owned standards.
type MarketingWorkload struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the marketing engineer asks for.
	Spec MarketingWorkloadSpec `json:"spec"`
	// Status is what the operator observed.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status MarketingWorkloadStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MarketingWorkloadList is a list of MarketingWorkloads.
type MarketingWorkloadList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MarketingWorkload `json:"items"`
}
