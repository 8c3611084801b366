package cli

import (
	"context"
	"fmt"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// sourceFlags name what a view (agenda; dataflow reads the same way) is
// drawn from: manifests, read as check reads them (-f and inputFlags), or
// a live cluster (--kubeconfig, --context), read only.
type sourceFlags struct {
	inputFlags
	kubeconfig, kubecontext string
}

func (s *sourceFlags) register(f *cmdFlags) {
	s.inputFlags.register(f, true)
	f.StringVar(&s.kubeconfig, "kubeconfig", "", "read the live cluster of this kubeconfig `FILE` instead of manifests")
	f.StringVar(&s.kubecontext, "context", "", "kubeconfig `CONTEXT` to use with --kubeconfig (default: the current context)")
}

// source is the objects of one source: the files, or one cluster.
type source struct {
	// cluster names the cluster; "" for files or a single cluster. A
	// fleet (several contexts) is one source per context.
	cluster string
	world   *manifest.World
}

// load checks the flags (pos are the positional paths, read as -f) and
// reads the sources. On a usage or input error it has written the error
// and returns the exit code, ok false.
func (s *sourceFlags) load(ctx context.Context, e *env, f *cmdFlags, cmd string, pos []string) (_ []source, code int, ok bool) {
	s.files = append(s.files, pos...)
	switch {
	case s.kubeconfig != "" && len(s.files) > 0:
		return nil, f.usageError(e, "give manifests (-f) or a cluster (--kubeconfig), not both"), false
	case s.kubeconfig == "" && len(s.files) == 0:
		return nil, f.usageError(e, "no input: give -f PATH or --kubeconfig FILE"), false
	case s.kubecontext != "" && s.kubeconfig == "":
		return nil, f.usageError(e, "--context needs --kubeconfig"), false
	case s.kubeconfig != "" && len(s.vendors)+len(s.policies) > 0:
		return nil, f.usageError(e, "--vendors and --policies read manifests: with --kubeconfig the cluster's objects are used"), false
	}
	var w *manifest.World
	var errs []error
	if s.kubeconfig != "" {
		var err error
		if w, err = manifest.FromKubeconfig(ctx, s.kubeconfig, s.kubecontext); err != nil {
			fmt.Fprintf(e.stderr, "guardrails %s: %s\n", cmd, report.Quote(err.Error()))
			return nil, ExitBadInput, false
		}
		if s.standard != "" {
			var std *v1alpha1.PlatformStandard
			std, errs = manifest.LoadStandard(ctx, s.inputs(e))
			w.SetStandard(std)
		}
	} else {
		w, errs = manifest.Load(ctx, s.inputs(e))
	}
	if len(errs) > 0 {
		return nil, printErrors(e, cmd, manifest.SortErrors(errs)), false
	}
	return []source{{world: w}}, ExitOK, true
}
