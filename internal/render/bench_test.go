package render_test

import (
	"testing"

	"github.com/martech-guardrails/guardrails/internal/render"
)

// BenchmarkRender renders the richest sample (exposed, two integrations,
// PDB): the cost of one reconcile's render.
func BenchmarkRender(b *testing.B) {
	s := loadSamples(b)
	in := s.inputs(s.workload(b, "winter-sale-microsite"), goldenTime)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := render.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
