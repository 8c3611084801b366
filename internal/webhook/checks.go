package webhook

import (
	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// checkPolicy compiles a GuardrailPolicy against the set in force, as
// SetPolicies would, without putting it in force: Rego that does not compile
// makes the object malformed before any policy looks at it. Every other
// check (unknown taxonomy keys included) is the engine's, in Evaluate.
func (w *Webhooks) checkPolicy(o *v1alpha1.GuardrailPolicy) []violation {
	errs := w.engine.CheckPolicy(o)
	out := make([]violation, 0, len(errs))
	for _, e := range errs {
		if e.Policy == "" {
			e.Policy = o.Name
		}
		out = append(out, compileErrorViolation(e))
	}
	return out
}
