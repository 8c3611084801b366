package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

var fuzzKinds = []string{
	v1alpha1.KindMarketingWorkload, v1alpha1.KindSaaSIntegration, v1alpha1.KindVendor,
	v1alpha1.KindPlatformStandard, v1alpha1.KindGuardrailPolicy, v1alpha1.KindPolicyException,
}

// FuzzEvaluate hands Evaluate arbitrary objects of each kind (any JSON,
// with the kind set) in the default world: it returns a decision or an
// error, never panics, and every result names a policy in force.
func FuzzEvaluate(f *testing.F) {
	e, err := New(Options{Timeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range e.Policies() {
		known[p.Name] = true
	}
	for i, obj := range []any{
		workload(withDataCategories("user.contact.emial"), withIntegrations("newsletter")),
		integration("newsletter", sending("user.contact.email", "custmer")),
		vendor("hubspot", allowingCategories("user.contact.emial")),
		standard(disabling("nope")),
		guardrailPolicy("p", namingPolicy),
		exception("x", testNow.Add(day), []string{"ownership"}, target("MarketingWorkload", "w")),
	} {
		b, _ := json.Marshal(obj)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte(`{"metadata":{"name":1},"spec":{"dataCategories":[null,{"a":[]},"x"],"integrations":"no"}}`))
	f.Add(uint8(3), []byte(`{"spec":{"policies":{"disabled":"x","enforcement":[1]},"sensitiveDataCategories":{"a":1}}}`))
	f.Add(uint8(1), []byte(`{"spec":{"dataUse":["a"],"dataSubjects":"b","credentials":{"secretName":7}}}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		m["kind"] = fuzzKinds[int(which)%len(fuzzKinds)]
		m["apiVersion"] = v1alpha1.GroupVersion.String()
		req := request(m)
		req.Integrations = integrationsOf(integration("newsletter"))
		d, err := e.Evaluate(context.Background(), req)
		if err != nil {
			if errors.Is(err, ErrNoObject) {
				t.Fatalf("an object was given: %v", err)
			}
			return
		}
		for _, r := range d.Results {
			if !known[r.Policy] {
				t.Fatalf("result of unknown policy %q: %+v", r.Policy, r)
			}
		}
	})
}

// FuzzCompileEvaluate compiles generated Rego as a GuardrailPolicy (which
// 0) or a ConstraintTemplate (which 1) and evaluates it: src is a module
// when it starts with "package", else the body of a violation rule. Seeded
// with the repros of guards_test.go (each ends at a guard). Whatever the
// Rego, compiling gives a verdict or line:col errors, evaluating gives a
// decision whose results are all of policies in force, no built-in panics,
// and what a guard refuses is an error result naming it.
func FuzzCompileEvaluate(f *testing.F) {
	e, err := New(Options{Timeout: 250 * time.Millisecond, RequestBudget: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range reproCases {
		f.Add(uint8(0), c.body+"\tcount(x) == -1\n")
		if c.gk {
			f.Add(uint8(1), c.body+"\tcount(x) == -1\n")
		}
	}
	f.Add(uint8(0), "\tx := input.object.metadata.name\n")
	f.Add(uint8(0), "package fuzz.p\n\nviolation contains msg if {\n\tmsg := sprintf(\"%*d\", [100000000, 1])\n}\n")
	f.Add(uint8(0), "\tx := sprintf(\"%[1]v%[1]v%[1]v%[1]v\", [concat(\"\", [sprintf(\"%0999999d\", [0]) | numbers.range(1, 16)[_]])])\n")
	f.Add(uint8(0), "\tx := strings.render_template(\"{{printf \\\"%0999999999d\\\" 1}}\", {})\n")
	f.Add(uint8(1), "\tx := yaml.unmarshal(\"a: &a [1,1,1,1,1,1,1,1,1]\\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\")\n")
	ctx := context.Background()
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm", "namespace": "default"},
	}}
	f.Fuzz(func(t *testing.T, which uint8, src string) {
		module := src
		if !strings.HasPrefix(src, "package") {
			module = "package fuzz.p\n\nviolation contains x if {\n" + src + "\n}\n"
		}
		var d *Decision
		var err error
		if which%2 == 0 {
			gp := guardrailPolicy("fuzz", module)
			if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{gp}); errs != nil {
				for _, ce := range errs["fuzz"] {
					if ce.Message == "" {
						t.Fatalf("an error without a message: %+v", ce)
					}
				}
				return
			}
			d, err = e.Evaluate(ctx, request(workload()))
		} else {
			tmpl := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
				"metadata": map[string]any{"name": "k8sfuzz"},
				"spec": map[string]any{
					"crd": map[string]any{"spec": map[string]any{"names": map[string]any{"kind": "K8sFuzz"}}},
					"targets": []any{map[string]any{"target": "admission.k8s.gatekeeper.sh",
						"code": []any{map[string]any{"engine": "Rego", "source": map[string]any{"version": "v1", "rego": module}}}}},
				},
			}}
			con := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sFuzz", "metadata": map[string]any{"name": "fuzz"},
			}}
			if rep := e.SetGatekeeper([]*unstructured.Unstructured{tmpl}, []*unstructured.Unstructured{con}); rep.Errors != nil {
				return
			}
			d, err = e.Review(ctx, ReviewRequest{Object: cm})
		}
		if err != nil {
			t.Fatalf("evaluate: %v", err)
		}
		for _, r := range d.Results {
			if strings.Contains(r.Message, "panicked") {
				t.Fatalf("a built-in panicked: %s", r.Message)
			}
		}
	})
}
