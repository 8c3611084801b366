package render_test

import (
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// BenchmarkRender renders the richest sample (exposed, two integrations,
// PDB): the cost of one reconcile's render.
func BenchmarkRender(b *testing.B) {
	s := loadSamples(b)
	in := s.inputs(s.workload(b, "winter-sale-microsite"), goldenTime)
	children, life, err := render.Render(in)
	if err != nil {
		b.Fatal(err)
	}
	// Active and exposed with two replicas: all seven children, Ingress
	// and PodDisruptionBudget included.
	if n := len(children.Objects()); life.Phase != v1alpha1.PhaseActive || n != 7 {
		b.Fatalf("rendered %d children in phase %s, want 7 in Active", n, life.Phase)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := render.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
