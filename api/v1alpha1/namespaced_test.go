package v1alpha1_test

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Namespaced must agree with the scope of each generated CRD.
func TestNamespacedMatchesCRDScope(t *testing.T) {
	for f, crd := range generatedCRDs(t) {
		ns, known := v1alpha1.Namespaced(crd.Spec.Names.Kind)
		if !known || ns != (crd.Spec.Scope == apiextensionsv1.NamespaceScoped) {
			t.Errorf("%s: Namespaced(%q) = %v, %v; CRD scope %s", f, crd.Spec.Names.Kind, ns, known, crd.Spec.Scope)
		}
	}
	if _, known := v1alpha1.Namespaced("Deployment"); known {
		t.Error("Namespaced knows Deployment")
	}
}
