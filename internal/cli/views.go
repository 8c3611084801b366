package cli

import (
	"context"
	"fmt"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// viewFlags are the inputs of the views (dataflow, portfolio): manifests
// as for check, or a live cluster through a kubeconfig.
type viewFlags struct {
	inputFlags
	kubeconfig, kubecontext string
}

func (v *viewFlags) register(f *cmdFlags) {
	v.inputFlags.register(f, true)
	f.StringVar(&v.kubeconfig, "kubeconfig", "", "read the live cluster of this kubeconfig `FILE` instead of manifests")
	f.StringVar(&v.kubecontext, "context", "", "kubeconfig `CONTEXT` to use with --kubeconfig (default: the current context)")
}

// load checks the flags (pos are the positional arguments, more -f
// inputs), reads the World and builds the engine. ok is false when the
// command must stop with code.
func (v *viewFlags) load(ctx context.Context, e *env, f *cmdFlags, cmd string, pos []string) (w *manifest.World, eng *policy.Engine, code int, ok bool) {
	v.files = append(v.files, pos...)
	switch {
	case v.kubeconfig != "" && len(v.files) > 0:
		return nil, nil, f.usageError(e, "give manifests (-f) or a cluster (--kubeconfig), not both"), false
	case v.kubeconfig == "" && len(v.files) == 0:
		return nil, nil, f.usageError(e, "no input: give -f PATH or --kubeconfig FILE"), false
	case v.kubecontext != "" && v.kubeconfig == "":
		return nil, nil, f.usageError(e, "--context needs --kubeconfig"), false
	case v.kubeconfig != "" && len(v.vendors)+len(v.policies) > 0:
		return nil, nil, f.usageError(e, "--vendors and --policies read manifests: with --kubeconfig the cluster's objects are used"), false
	}
	var errs []error
	if v.kubeconfig != "" {
		var err error
		if w, err = manifest.FromKubeconfig(ctx, v.kubeconfig, v.kubecontext); err != nil {
			fmt.Fprintf(e.stderr, "guardrails %s: %s\n", cmd, report.Quote(err.Error()))
			return nil, nil, ExitBadInput, false
		}
		if v.standard != "" {
			var std *v1alpha1.PlatformStandard
			std, errs = manifest.LoadStandard(ctx, v.inputs(e))
			w.SetStandard(std)
		}
	} else {
		w, errs = manifest.Load(ctx, v.inputs(e))
	}
	eng, skipped, cerrs := newEngine(w)
	if errs = append(errs, cerrs...); len(errs) > 0 {
		return nil, nil, printErrors(e, cmd, manifest.SortErrors(errs)), false
	}
	printSkipped(e, cmd, skipped)
	return w, eng, ExitOK, true
}
