// Package v1alpha1 contains the API of martech-guardrails: the six kinds a
// marketing engineer and a platform team use to run marketing technology on
// Kubernetes under IT-owned standards.
//
// +kubebuilder:object:generate=true
// +groupName=martech.guardrails.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "martech.guardrails.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the kinds of this group-version to a scheme. It is
	// apimachinery's builder: controller-runtime's scheme.Builder is
	// deprecated for API packages, which should depend on little.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types in this group-version (the kinds table,
	// kinds.go) to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
