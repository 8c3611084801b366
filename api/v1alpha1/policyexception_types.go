package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExceptionTarget names an object a PolicyException waives policies for.
type ExceptionTarget struct {
	// Kind of the object.
	Kind TargetKind `json:"kind"`
	// Name of the object, in the exception's namespace for namespaced kinds.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PolicyExceptionSpec is a waiver of named policies for named objects.
type PolicyExceptionSpec struct {
	// Policies are the names of the policies waived.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Policies []string `json:"policies"`
	// Targets are the objects the waiver covers.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Targets []ExceptionTarget `json:"targets"`
	// Reason the waiver was granted.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason"`
	// ApprovedBy names who granted it (a person or a ticket).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=254
	ApprovedBy string `json:"approvedBy"`
	// ExpiresAt is when the waiver stops (RFC 3339, within
	// 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z); required, and capped by
	// the standard's policies.exceptionMaxDuration.
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1678-01-01T00:00:00Z') && self < timestamp('2262-01-01T00:00:00Z')",message="must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z (the times policies can judge)"
	ExpiresAt metav1.Time `json:"expiresAt"`
}

// PolicyExceptionStatus says whether the waiver is in force.
type PolicyExceptionStatus struct {
	CommonStatus `json:",inline"`
	// Active is true until expiresAt.
	// +optional
	Active *bool `json:"active,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=pex,categories=martech
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.spec.expiresAt`,description="When the waiver stops (RFC 3339); a string column because a date column renders future times as <invalid>"
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.status.active`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// PolicyException waives named policies for named objects until it expires.
type PolicyException struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the waiver.
	Spec PolicyExceptionSpec `json:"spec"`
	// Status says whether it is in force.
	// +optional
	// +kubebuilder:default={observedGeneration:0}
	Status PolicyExceptionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PolicyExceptionList is a list of PolicyExceptions.
type PolicyExceptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PolicyException `json:"items"`
}
