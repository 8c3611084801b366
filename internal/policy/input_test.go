package policy

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// echoPolicy reports the input document (and a taxonomy lookup) as its only
// violation, so the tests can look at what policies see.
const echoPolicy = `package acme.echo

violation contains json.marshal({
	"input": input,
	"taxonomy": data.guardrails.taxonomy.data_category["user.contact.email"],
})
`

// inputOf evaluates req with the echo policy (targeting every kind) and
// returns the input document it saw.
func inputOf(t *testing.T, e *Engine, req Request) map[string]any {
	t.Helper()
	d := evaluate(t, e, req)
	got := resultsOf(d, "echo")
	if len(got) != 1 {
		t.Fatalf("echo results: %s", describe(d))
	}
	var doc struct {
		Input    map[string]any `json:"input"`
		Taxonomy string         `json:"taxonomy"`
	}
	if err := json.Unmarshal([]byte(got[0].Message), &doc); err != nil {
		t.Fatalf("echo: %v", err)
	}
	if doc.Taxonomy != "User Contact Email" {
		t.Errorf("data.guardrails.taxonomy lookup = %q", doc.Taxonomy)
	}
	return doc.Input
}

func echoEngine(t *testing.T) *Engine {
	t.Helper()
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("echo", echoPolicy,
		targeting(v1alpha1.KindMarketingWorkload, v1alpha1.KindSaaSIntegration, v1alpha1.KindVendor, v1alpha1.KindPolicyException),
		withParameters(`{"prefix": "acme-", "limits": [1, 2]}`),
		withEnforcement(v1alpha1.EnforcementAudit))) // audit: integrations stay compliant
	return e
}

// get walks a decoded JSON document.
func get(doc any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := doc.(map[string]any)
			doc = m[k]
		case int:
			a, _ := doc.([]any)
			if k >= len(a) {
				return nil
			}
			doc = a[k]
		}
	}
	return doc
}

func TestInputDocument(t *testing.T) {
	e := echoEngine(t)
	old := workload(withReplicas(1))
	req := request(workload(withIntegrations("newsletter", "ghost", "ads")),
		withIntegrationObjects(integration("newsletter"), integration("ads", withVendor("shadytrack")), integration("unreferenced")),
		func(r *Request) {
			r.Operation = OperationUpdate
			r.OldObject = old
			r.User = &User{Username: "jane@acme.io", Groups: []string{"marketing", "system:authenticated"}}
			r.Now = time.Date(2026, 3, 1, 12, 30, 15, 0, time.FixedZone("CET", 3600))
		})
	in := inputOf(t, e, req)

	checks := []struct {
		path []any
		want any
	}{
		{[]any{"kind"}, "MarketingWorkload"},
		{[]any{"operation"}, "UPDATE"},
		{[]any{"object", "apiVersion"}, "martech.guardrails.dev/v1alpha1"},
		{[]any{"object", "kind"}, "MarketingWorkload"},
		{[]any{"object", "metadata", "name"}, "spring-sale"},
		{[]any{"object", "spec", "image"}, registry + "growth/spring-sale:1.4.2"},
		{[]any{"object", "spec", "replicas"}, 2.0},
		{[]any{"object", "spec", "resources", "limits", "memory"}, "256Mi"},
		{[]any{"oldObject", "spec", "replicas"}, 1.0},
		{[]any{"oldObject", "kind"}, "MarketingWorkload"},
		{[]any{"namespace"}, map[string]any{"name": testNS, "labels": map[string]any{"team": "growth"}}},
		{[]any{"user"}, map[string]any{"username": "jane@acme.io", "groups": []any{"marketing", "system:authenticated"}}},
		{[]any{"standard", "allowedRegistries"}, []any{registry}},
		{[]any{"standard", "campaign", "maxDuration"}, "2160h0m0s"},
		{[]any{"standard", "workloadDefaults", "resources", "limits", "memory"}, "1Gi"},
		{[]any{"vendors", "hubspot", "kind"}, "Vendor"},
		{[]any{"vendors", "hubspot", "spec", "status"}, "approved"},
		{[]any{"vendors", "shadytrack", "spec", "status"}, "prohibited"},
		{[]any{"integrations", "newsletter", "kind"}, "SaaSIntegration"},
		{[]any{"integrations", "newsletter", "spec", "vendor"}, "hubspot"},
		{[]any{"integrations", "newsletter", "guardrails"}, map[string]any{"compliant": true, "violations": []any{}}},
		{[]any{"integrations", "ads", "guardrails", "compliant"}, false},
		{[]any{"integrations", "ads", "guardrails", "violations", 0, "policy"}, "vendor-approved"},
		{[]any{"integrations", "ghost"}, nil},
		{[]any{"integrations", "unreferenced"}, nil},
		{[]any{"secrets", "newsletter-creds"}, map[string]any{"exists": true, "createdAt": "2025-08-13T12:00:00Z", "rotatedAt": "2026-02-19T12:00:00Z"}},
		{[]any{"parameters"}, map[string]any{"prefix": "acme-", "limits": []any{1.0, 2.0}}},
		{[]any{"now"}, "2026-03-01T11:30:15Z"},
		{[]any{"review", "operation"}, "UPDATE"},
		{[]any{"review", "kind"}, map[string]any{"group": "martech.guardrails.dev", "version": "v1alpha1", "kind": "MarketingWorkload"}},
		{[]any{"review", "namespace"}, testNS},
		{[]any{"review", "name"}, "spring-sale"},
		{[]any{"review", "userInfo", "username"}, "jane@acme.io"},
	}
	for _, c := range checks {
		if got := get(in, c.path...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("input%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if !reflect.DeepEqual(get(in, "review", "object"), in["object"]) ||
		!reflect.DeepEqual(get(in, "review", "oldObject"), in["oldObject"]) {
		t.Error("input.review.object/oldObject differ from input.object/oldObject")
	}
	now, _ := in["now"].(string)
	if _, err := time.Parse(time.RFC3339, now); err != nil {
		t.Errorf("input.now is not RFC 3339: %v", err)
	}
	policies, _ := in["policies"].([]any)
	for _, name := range []string{"allowed-registries", "exception-cap", "echo"} {
		if !slices.Contains(policies, any(name)) {
			t.Errorf("input.policies %v lacks %s", policies, name)
		}
	}
}

func TestInputDocumentDefaults(t *testing.T) {
	e := echoEngine(t)

	// Cluster-scoped kind, no user, no standard, secrets unknown, CREATE.
	v := vendor("hubspot")
	v.Namespace = "ignored"
	in := inputOf(t, e, Request{Operation: OperationCreate, Object: v, Namespace: Namespace{Name: "ignored"}, Now: testNow})
	checks := []struct {
		key  string
		want any
	}{
		{"kind", "Vendor"},
		{"oldObject", nil},
		{"namespace", map[string]any{}},
		{"user", map[string]any{}},
		{"standard", map[string]any{}},
		{"vendors", map[string]any{}},
		{"integrations", map[string]any{}},
		{"now", "2026-03-01T12:00:00Z"},
	}
	for _, c := range checks {
		if got := in[c.key]; !reflect.DeepEqual(got, c.want) {
			t.Errorf("input.%s = %#v, want %#v", c.key, got, c.want)
		}
	}
	if _, ok := in["secrets"]; ok {
		t.Error("input.secrets present although unknown")
	}
	if got := get(in, "review", "namespace"); got != "" {
		t.Errorf("input.review.namespace = %#v", got)
	}
	if got := get(in, "review", "kind", "kind"); got != "Vendor" {
		t.Errorf("input.review.kind.kind = %#v", got)
	}

	// DELETE evaluates the old object; the namespace comes from its metadata.
	in = inputOf(t, e, Request{Operation: OperationDelete, OldObject: integration("newsletter"), Now: testNow})
	if in["object"] != nil || get(in, "oldObject", "metadata", "name") != "newsletter" || get(in, "namespace", "name") != testNS || in["kind"] != "SaaSIntegration" {
		t.Errorf("DELETE input: object %v, oldObject name %v, namespace %v", in["object"], get(in, "oldObject", "metadata", "name"), in["namespace"])
	}
}

func TestInputFromUnstructuredAndMaps(t *testing.T) {
	e := echoEngine(t)
	typed := integration("newsletter")
	typed.APIVersion, typed.Kind = v1alpha1.GroupVersion.String(), v1alpha1.KindSaaSIntegration
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
	if err != nil {
		t.Fatal(err)
	}
	want := inputOf(t, e, request(typed))
	for name, obj := range map[string]any{
		"unstructured":       &unstructured.Unstructured{Object: m},
		"unstructured value": unstructured.Unstructured{Object: m},
		"map":                m,
		"typed value":        *typed,
	} {
		got := inputOf(t, e, request(obj))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: input differs from the typed object's", name)
		}
	}
	if _, ok := m["guardrails"]; ok {
		t.Error("the caller's map was modified")
	}
}
