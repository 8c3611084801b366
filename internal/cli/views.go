package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// viewFlags are the inputs of the views (dataflow, portfolio, agenda):
// manifests as for check, or live clusters through a kubeconfig, read
// only: the current context, or each --context given (a fleet).
type viewFlags struct {
	inputFlags
	kubeconfig string
	contexts   stringList
}

func (v *viewFlags) register(f *cmdFlags) {
	v.inputFlags.register(f, true)
	f.StringVar(&v.kubeconfig, "kubeconfig", "", "read the live cluster of this kubeconfig `FILE` instead of manifests")
	f.Var(&v.contexts, "context", "kubeconfig `CONTEXT` to read with --kubeconfig (default: the current context); repeatable: each context is a cluster of a fleet")
}

// source is what one input holds: the files, or one cluster.
type source struct {
	// cluster names the cluster: the context given with --context, ""
	// for files or the current context.
	cluster string
	world   *manifest.World
	// eng is the engine with the source's GuardrailPolicies and
	// Gatekeeper templates; nil when load was asked for none.
	eng *policy.Engine
}

// named prefixes err with the source's context, if it has one: in a
// fleet an error says which cluster it comes from.
func (s source) named(err error) error {
	if s.cluster == "" {
		return err
	}
	return fmt.Errorf("context %q: %w", s.cluster, err)
}

// load checks the flags (pos are the positional arguments, more -f
// inputs) and reads the sources: one for manifests or the current
// context, one per --context (a fleet). engines says whether each source
// gets its engine. ok is false when the command must stop with code; a
// context that cannot be read stops it with its name, never leaving a gap.
func (v *viewFlags) load(ctx context.Context, e *env, f *cmdFlags, cmd string, pos []string, engines bool) (_ []source, code int, ok bool) {
	v.files = append(v.files, pos...)
	switch {
	case v.kubeconfig != "" && len(v.files) > 0:
		return nil, f.usageError(e, "give manifests (-f) or a cluster (--kubeconfig), not both"), false
	case v.kubeconfig == "" && len(v.files) == 0:
		return nil, f.usageError(e, "no input: give -f PATH or --kubeconfig FILE"), false
	case len(v.contexts) > 0 && v.kubeconfig == "":
		return nil, f.usageError(e, "--context needs --kubeconfig"), false
	case v.kubeconfig != "" && len(v.vendors)+len(v.policies) > 0:
		return nil, f.usageError(e, "--vendors and --policies read manifests: with --kubeconfig the cluster's objects are used"), false
	}
	for i, c := range v.contexts {
		if c == "" {
			return nil, f.usageError(e, "--context: empty context name"), false
		}
		if slices.Contains(v.contexts[:i], c) {
			return nil, f.usageError(e, "--context %q given twice", c), false
		}
	}
	if v.kubeconfig == "" {
		w, errs := manifest.Load(ctx, v.inputs(e))
		return v.finish(e, cmd, []source{{world: w}}, errs, engines)
	}
	contexts := v.contexts
	if len(contexts) == 0 {
		contexts = []string{""} // the current context
	}
	var std *v1alpha1.PlatformStandard
	var errs []error
	if v.standard != "" {
		std, errs = manifest.LoadStandard(ctx, v.inputs(e))
	}
	sources := make([]source, 0, len(contexts))
	for _, c := range contexts {
		w, err := manifest.FromKubeconfig(ctx, v.kubeconfig, c)
		if err != nil {
			if c != "" {
				err = fmt.Errorf("context %q: %w", c, err)
			}
			fmt.Fprintf(e.stderr, "guardrails %s: %s\n", cmd, report.Quote(err.Error()))
			return nil, ExitBadInput, false
		}
		if v.standard != "" {
			w.SetStandard(std)
		}
		sources = append(sources, source{cluster: c, world: w})
	}
	return v.finish(e, cmd, sources, errs, engines)
}

// finish builds the engines and reports what went wrong reading.
func (v *viewFlags) finish(e *env, cmd string, sources []source, errs []error, engines bool) (_ []source, code int, ok bool) {
	var skipped []report.Skipped
	if engines {
		for i := range sources {
			src := &sources[i]
			eng, sk, cerrs := newEngine(src.world)
			src.eng = eng
			skipped = append(skipped, sk...)
			for _, err := range cerrs {
				if c := src.cluster; c != "" {
					// An object read from a cluster has no file:line:
					// the context says where it is.
					err = fmt.Errorf("context %q: %s", c, err.Error())
				}
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, printErrors(e, cmd, manifest.SortErrors(errs)), false
	}
	printSkipped(e, cmd, skipped)
	return sources, ExitOK, true
}
