package cli

import (
	"fmt"
	"maps"
	"slices"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// setGatekeeper puts the World's Gatekeeper templates and constraints in
// force. What the engine cannot use is bad input, placed at the object's
// document; templates it does not evaluate (CEL only) are returned, to be
// reported, not dropped silently.
func setGatekeeper(eng *policy.Engine, w *manifest.World) ([]report.Skipped, []error) {
	templates, constraints := w.GatekeeperTemplates(), w.GatekeeperConstraints()
	if len(templates)+len(constraints) == 0 {
		return nil, nil
	}
	rep := eng.SetGatekeeper(manifest.Unstructured(templates), manifest.Unstructured(constraints))
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(rep.Errors)) {
		for _, ce := range rep.Errors[key] {
			errs = append(errs, w.GatekeeperError(key, ce))
		}
	}
	var skipped []report.Skipped
	for _, name := range slices.Sorted(maps.Keys(rep.Skipped)) {
		s := report.Skipped{Template: name, Reason: rep.Skipped[name]}
		if g := w.GatekeeperObject(gatekeeper.TemplateKey(name)); g != nil {
			s.File, s.Line = g.Position()
		}
		skipped = append(skipped, s)
	}
	return skipped, errs
}

// printSkipped writes one line a skipped template on stderr.
func printSkipped(e *env, cmd string, skipped []report.Skipped) {
	for _, s := range skipped {
		fmt.Fprintf(e.stderr, "guardrails %s: %s\n", cmd, s.String())
	}
}
