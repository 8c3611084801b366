package v1alpha1_test

import (
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Namespaced must agree with the scope of each generated CRD.
func TestNamespacedMatchesCRDScope(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) != 6 {
		t.Fatalf("want the six CRDs, found %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ns, known := v1alpha1.Namespaced(crd.Spec.Names.Kind)
		if !known || ns != (crd.Spec.Scope == apiextensionsv1.NamespaceScoped) {
			t.Errorf("%s: Namespaced(%q) = %v, %v; CRD scope %s", f, crd.Spec.Names.Kind, ns, known, crd.Spec.Scope)
		}
	}
	if _, known := v1alpha1.Namespaced("Deployment"); known {
		t.Error("Namespaced knows Deployment")
	}
}
