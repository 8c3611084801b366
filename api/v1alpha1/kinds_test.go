package v1alpha1_test

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// The kinds table must list exactly the kinds of the generated CRDs, with
// their scope, and be what the scheme holds.
func TestKindsTableMatchesCRDs(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	crds := generatedCRDs(t)
	if got := len(v1alpha1.Kinds()); got != len(crds) {
		t.Errorf("the kinds table has %d kinds, config/crd/bases %d CRDs", got, len(crds))
	}
	for f, crd := range crds {
		name := crd.Spec.Names.Kind
		k, known := v1alpha1.LookupKind(name)
		if !known {
			t.Errorf("%s: %s is not in the kinds table (api/v1alpha1/kinds.go)", f, name)
			continue
		}
		if ns, _ := v1alpha1.Namespaced(name); ns != (crd.Spec.Scope == apiextensionsv1.NamespaceScoped) || ns != k.Namespaced {
			t.Errorf("%s: Namespaced(%q) = %v; CRD scope %s", f, name, ns, crd.Spec.Scope)
		}
		for _, kind := range []string{name, crd.Spec.Names.ListKind} {
			obj, err := s.New(v1alpha1.GroupVersion.WithKind(kind))
			if err != nil {
				t.Errorf("scheme.New(%s): %v", kind, err)
				continue
			}
			want := reflect.TypeOf(k.New())
			if kind != name {
				want = reflect.TypeOf(k.NewList())
			}
			if reflect.TypeOf(obj) != want {
				t.Errorf("scheme.New(%s) is a %T, the table's a %s", kind, obj, want)
			}
		}
		obj := k.New()
		if got, ok := v1alpha1.KindOf(obj); !ok || got.Name != name {
			t.Errorf("KindOf(%T) = %q, %v; want %q", obj, got.Name, ok, name)
		}
		obj.SetName("x")
		obj.GetCommonStatus().ObservedGeneration = 7
		value := reflect.ValueOf(obj).Elem().Interface()
		p, ok := v1alpha1.PointerTo(value)
		if !ok || p.GetName() != "x" || p.GetCommonStatus().ObservedGeneration != 7 {
			t.Errorf("PointerTo(%T) = %v, %v; want a copy of the object", value, p, ok)
		}
		if _, ok := v1alpha1.KindOf(value); ok {
			t.Errorf("KindOf knows the value type %T: only pointers are objects", value)
		}
	}
	for _, other := range []string{"Deployment", ""} {
		if _, known := v1alpha1.Namespaced(other); known {
			t.Errorf("Namespaced knows %q", other)
		}
	}
	if _, ok := v1alpha1.KindOf(&apiextensionsv1.CustomResourceDefinition{}); ok {
		t.Error("KindOf knows a CustomResourceDefinition")
	}
}
