package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Kind names, as users write them in GuardrailPolicy targets and
// PolicyException targets.
const (
	KindMarketingWorkload = "MarketingWorkload"
	KindSaaSIntegration   = "SaaSIntegration"
	KindVendor            = "Vendor"
	KindPlatformStandard  = "PlatformStandard"
	KindGuardrailPolicy   = "GuardrailPolicy"
	KindPolicyException   = "PolicyException"
)

// ChildKinds are the kinds of the children the operator renders for a
// MarketingWorkload, which policies may target too.
var ChildKinds = []string{"Deployment", "Service", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "ConfigMap"}

// Condition types: kstatus-style, so Argo CD, Flux and `kubectl wait` read
// health without custom code.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// DefaultStandardName is the PlatformStandard that applies when no other
// standard selects a namespace.
const DefaultStandardName = "default"

// Enforcement is what happens when a policy finds a violation.
// +kubebuilder:validation:Enum=deny;warn;audit
type Enforcement string

const (
	// EnforcementDeny rejects the object at admission and blocks provisioning.
	EnforcementDeny Enforcement = "deny"
	// EnforcementWarn admits the object and returns a warning.
	EnforcementWarn Enforcement = "warn"
	// EnforcementAudit only records the violation in status and reports.
	EnforcementAudit Enforcement = "audit"
)

// Severity ranks violations for reports.
// +kubebuilder:validation:Enum=critical;high;medium;low;info
type Severity string

// The severities, from the most to the least urgent.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// TaxonomyKey is a fideslang taxonomy key: dotted lowercase segments such as
// `user.contact.email`. Allowing a key allows every key below it.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`
type TaxonomyKey string

// FQDN is a fully qualified, lowercase DNS name such as `api.hubapi.com`.
// +kubebuilder:validation:MinLength=3
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`
type FQDN string

// Region is a data-processing region code such as `eu`, `us` or `eu-west`.
// +kubebuilder:validation:MinLength=2
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:Pattern=`^[a-z]{2}(-[a-z0-9]+)*$`
type Region string

// Violation is one policy result recorded on an object's status.
type Violation struct {
	// Policy is the name of the policy that produced the result.
	Policy string `json:"policy"`
	// Enforcement of the result: deny, warn, audit, or error when the policy
	// could not be evaluated (for example it exceeded its time budget).
	// +optional
	// +kubebuilder:validation:Enum=deny;warn;audit;error
	Enforcement string `json:"enforcement,omitempty"`
	// Severity of the policy.
	// +optional
	Severity Severity `json:"severity,omitempty"`
	// Field is the path of the offending field, for example `spec.image`.
	// +optional
	Field string `json:"field,omitempty"`
	// Message says what is wrong, in words a marketing engineer understands.
	Message string `json:"message"`
	// Remediation says what to change.
	// +optional
	Remediation string `json:"remediation,omitempty"`
	// Exception names the PolicyException (namespace/name) that waives this
	// result, if any; a waived result does not block.
	// +optional
	Exception string `json:"exception,omitempty"`
}

// MaxStatusViolations bounds the violations kept on any status.
const MaxStatusViolations = 20

// CommonStatus is embedded in every status of this API.
type CommonStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are kstatus-style: Ready, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// Violations are the policy results on the object as its reconciler last
	// judged it (at most 20): results in force first (deny, error, warn,
	// audit), then waived ones.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Violations []Violation `json:"violations,omitempty"`
	// ViolationCount is how many results the object has in all; violations
	// holds at most 20 of them.
	// +optional
	ViolationCount int32 `json:"violationCount,omitempty"`
}
