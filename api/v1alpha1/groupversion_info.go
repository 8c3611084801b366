// Package v1alpha1 contains the API of martech-guardrails: the six kinds a
// marketing engineer and a platform team use to run marketing technology on
// Kubernetes under IT-owned standards.
//
// +kubebuilder:object:generate=true
// +groupName=martech.guardrails.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme

	// knownTypes are the kinds' types and their lists, from register.
	knownTypes []runtime.Object
)

// register records types of this group-version (from each kind's init).
func register(objs ...runtime.Object) { knownTypes = append(knownTypes, objs...) }

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, knownTypes...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
