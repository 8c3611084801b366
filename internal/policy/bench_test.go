package policy

import (
	"context"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// benchWorkload is a MarketingWorkload with three integrations, evaluated
// against every built-in and one custom policy.
func benchWorkload(b *testing.B) (*Engine, Request) {
	b.Helper()
	e := newTestEngine(b, Options{})
	setPolicies(b, e, guardrailPolicy("campaign-naming", namingPolicy))
	req := request(workload(withIntegrations("newsletter", "crm", "ads")),
		withIntegrationObjects(
			integration("newsletter"),
			integration("crm", sending("user.behavior.purchase_history")),
			integration("ads", withVendor("acme-ads")),
		))
	return e, req
}

func BenchmarkEvaluateWorkload(b *testing.B) {
	e, req := benchWorkload(b)
	ctx := context.Background()
	if d := evaluate(b, e, req); len(d.Results) != 1 || d.Results[0].Policy != "campaign-naming" {
		b.Fatalf("unexpected decision:%s", describe(d))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateWorkloadParallel(b *testing.B) {
	e, req := benchWorkload(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Evaluate(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEvaluateIntegration(b *testing.B) {
	e := builtinEngine(b)
	req := request(integration("newsletter"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetPolicies(b *testing.B) {
	e := newTestEngine(b, Options{})
	gps := []v1alpha1.GuardrailPolicy{guardrailPolicy("campaign-naming", namingPolicy)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Alternate the source so every call compiles.
		gps[0].Spec.Rego = namingPolicy + "\n# " + string(rune('a'+i%2)) + "\n"
		if errs := e.SetPolicies(gps); errs != nil {
			b.Fatal(errs)
		}
	}
}
