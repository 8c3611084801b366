// Package v1alpha1 contains the API of martech-guardrails: the six kinds a
// marketing engineer and a platform team use to run marketing technology on
// Kubernetes under IT-owned standards.
//
// +kubebuilder:object:generate=true
// +groupName=martech.guardrails.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "martech.guardrails.dev", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
