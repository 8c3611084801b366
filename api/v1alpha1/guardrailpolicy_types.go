package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TargetKind is a kind a policy can evaluate: one of the six kinds of this
// API, or a kind of child the operator renders for a MarketingWorkload
// (Deployment, Service, Ingress, NetworkPolicy, PodDisruptionBudget,
// ServiceAccount, ConfigMap), which is judged at the workload's doors before
// it is provisioned.
// +kubebuilder:validation:Enum=MarketingWorkload;SaaSIntegration;Vendor;PlatformStandard;GuardrailPolicy;PolicyException;Deployment;Service;Ingress;NetworkPolicy;PodDisruptionBudget;ServiceAccount;ConfigMap
type TargetKind string

// GuardrailPolicySpec is a policy written in Rego by the platform team.
type GuardrailPolicySpec struct {
	// Description says what the policy checks, for reports and `guardrails policies`.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description string `json:"description,omitempty"`
	// Targets are the kinds the policy evaluates. A child kind (Deployment ...)
	// is evaluated on the children rendered for each MarketingWorkload, with
	// the workload as `input.owner`; its violations are the workload's.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=13
	// +listType=set
	Targets []TargetKind `json:"targets"`
	// Enforcement: deny rejects and blocks, warn admits with a warning, audit only reports.
	// +optional
	// +kubebuilder:default=deny
	Enforcement Enforcement `json:"enforcement,omitempty"`
	// Severity ranks the policy's violations.
	// +optional
	// +kubebuilder:default=medium
	Severity Severity `json:"severity,omitempty"`
	// Category groups policies in reports, for example `privacy` or `security`.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Category string `json:"category,omitempty"`
	// Parameters are free JSON handed to the policy as `input.parameters`.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Parameters *apiextensionsv1.JSON `json:"parameters,omitempty"`
	// Rego is the main module. It must define `violation contains v` where v
	// is a string or an object {msg, field, remediation}. Non-deterministic and
	// outward built-ins (http.send, net.*, time.now_ns, rand.*, uuid.*,
	// opa.runtime) are refused; use input.now for the time.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Rego string `json:"rego"`
	// Libs are extra Rego modules the main module imports.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=65536
	Libs []string `json:"libs,omitempty"`
	// NamespaceSelector limits the policy to namespaced objects in matching
	// namespaces; cluster-scoped objects are always evaluated.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// PolicyError is a compile error in a GuardrailPolicy's Rego.
type PolicyError struct {
	// Module is `rego` or `libs[i]`.
	// +optional
	Module string `json:"module,omitempty"`
	// Line of the error (1-based).
	// +optional
	Line int32 `json:"line,omitempty"`
	// Column of the error (1-based).
	// +optional
	Column int32 `json:"column,omitempty"`
	// Message from the compiler.
	Message string `json:"message"`
}

// GuardrailPolicyStatus says whether the policy compiled.
type GuardrailPolicyStatus struct {
	CommonStatus `json:",inline"`
	// Compiled is true when the Rego compiled and the policy is in force.
	// +optional
	Compiled bool `json:"compiled,omitempty"`
	// Errors are the compile errors with line and column.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Errors []PolicyError `json:"errors,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=gp,categories=martech
// +kubebuilder:printcolumn:name="Enforcement",type=string,JSONPath=`.spec.enforcement`
// +kubebuilder:printcolumn:name="Severity",type=string,JSONPath=`.spec.severity`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// GuardrailPolicy is a policy in Rego written by the platform team and
// evaluated by the same engine as the built-ins.
type GuardrailPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the policy.
	Spec GuardrailPolicySpec `json:"spec"`
	// Status says whether it compiled.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status GuardrailPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// GuardrailPolicyList is a list of GuardrailPolicies.
type GuardrailPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GuardrailPolicy `json:"items"`
}
