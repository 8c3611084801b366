package policy

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

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
