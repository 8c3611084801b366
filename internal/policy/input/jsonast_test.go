package input

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// JSONValue gives the same value as the apimachinery converter followed by
// ast.InterfaceToValue, for every kind of field our objects have.
func TestJSONValueMatchesUnstructured(t *testing.T) {
	odd := integration("odd \"quoted\" \\ name ünïcode\n", sending("user.contact.email"))
	odd.Labels = map[string]string{"a": "b\tc", "empty": ""}
	odd.CreationTimestamp = metav1.NewTime(testNow)
	odd.Status.UsedBy = []string{"x", "y"}
	std := standard(enforcing("vendor-approved", v1alpha1.EnforcementDeny))
	std.Spec.ManagedNamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"k": "v"}}
	gp := guardrailPolicy("p", namingPolicy)
	gp.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(`{"n": 1.5, "big": 12345678901234, "neg": -3, "list": [true, false, null, "s"], "e": 1e3}`)}
	for name, x := range map[string]any{
		"vendor":         vendor("hubspot"),
		"integration":    integration("newsletter"),
		"odd":            odd,
		"standard":       std,
		"standard spec":  &std.Spec,
		"workload":       workload(),
		"policy":         &gp,
		"empty workload": &v1alpha1.MarketingWorkload{},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := JSONValue(x)
			if err != nil {
				t.Fatal(err)
			}
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(x)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ast.InterfaceToValue(m)
			if err != nil {
				t.Fatal(err)
			}
			if got.Compare(want) != 0 {
				t.Errorf("JSONValue:\n%v\nwant:\n%v", got, want)
			}
		})
	}
}

func TestJSONValueRefusesBrokenJSON(t *testing.T) {
	for _, s := range []string{`{"a":`, `{"a" 1}`, `[1 2]`, `"open`, `{"a":1}x`, `nul`} {
		d := jsonDecoder{data: []byte(s), text: s}
		_, err := d.value()
		if err == nil {
			if d.skipSpace(); d.pos == len(d.data) {
				t.Errorf("%q: no error", s)
			}
		}
	}
}
