package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// inputFlags name the inputs; check, dataflow and policies share them.
type inputFlags struct {
	files     stringList
	standard  string
	vendors   stringList
	policies  stringList
	namespace string
	now       timeFlag
	limits    manifest.Limits
}

func (in *inputFlags) register(f *cmdFlags, withNow bool) {
	f.Var(&in.files, "f", "read manifests from `PATH`: a file, a directory (recursive: .yaml, .yml, .json) or - for stdin; repeatable")
	f.StringVar(&in.standard, "standard", "", "use the PlatformStandard in `FILE` for every object (default: the one selecting the object's namespace, else the one named default, among the inputs)")
	f.Var(&in.vendors, "vendors", "read the Vendor catalogue from `PATH` (context: used, not reported); repeatable")
	f.Var(&in.policies, "policies", "read GuardrailPolicies and PolicyExceptions from `PATH` (context: used, not reported); repeatable")
	f.StringVar(&in.namespace, "namespace", manifest.DefaultNamespace, "put namespaced objects that name no namespace in namespace `NAME`")
	if withNow {
		f.Var(&in.now, "now", "evaluate at `TIME` (RFC 3339, input.now) instead of the current time")
	}
	in.limits.File, in.limits.Total = manifest.DefaultMaxFileSize, manifest.DefaultMaxInputSize
	f.Var(&in.limits.File, "max-file-size", "refuse a file (or standard input) larger than `SIZE`: bytes, or with a unit such as 512Ki, 64Mi, 1Gi (powers of 1024) or 500k, 10M (powers of 1000)")
	f.Var(&in.limits.Total, "max-input-size", "refuse inputs that together are larger than `SIZE` (every -f, --vendors, --policies and --standard file and standard input)")
}

// inputs is what Load reads for these flags.
func (in *inputFlags) inputs(e *env) manifest.Inputs {
	return manifest.Inputs{
		FS:        e.fsys,
		Stdin:     e.stdin,
		Files:     in.files,
		Context:   append(slices.Clone(in.vendors), in.policies...),
		Standard:  in.standard,
		Namespace: in.namespace,
		Limits:    in.limits,
	}
}

// OfflinePolicyTimeout is the time budget of one policy evaluating one
// object in the CLI. Offline there is no admission request waiting, so it is
// more generous than the operator's 100 ms: a loaded CI runner must not turn a
// verdict into a time-out.
const OfflinePolicyTimeout = time.Second

// newEngine returns the engine with the built-ins, the World's
// GuardrailPolicies and its Gatekeeper templates and constraints in force.
// A policy, template or constraint the engine cannot use is bad input,
// reported at its document with the error's line:col in its module. A run
// judges each object once (and each integration once, through its Memo),
// so the engine keeps no results. skipped are the Gatekeeper templates
// the engine does not evaluate.
func newEngine(w *manifest.World) (eng *policy.Engine, skipped []report.Skipped, errs []error) {
	eng, err := policy.New(policy.Options{Timeout: OfflinePolicyTimeout, ResultCacheSize: -1})
	if err != nil {
		return nil, nil, []error{err}
	}
	if items := w.GuardrailPolicies(); len(items) > 0 {
		gps := make([]v1alpha1.GuardrailPolicy, len(items))
		byName := make(map[string]*manifest.Item, len(items))
		for i, it := range items {
			gp, ok := it.Object.(*v1alpha1.GuardrailPolicy)
			if !ok {
				return nil, nil, []error{fmt.Errorf("%s: %s: a GuardrailPolicy read as %T", it.Pos(), it.Key(), it.Object)}
			}
			gps[i] = *gp
			byName[gps[i].Name] = it
		}
		cerrs := eng.SetPolicies(gps)
		for _, name := range slices.Sorted(maps.Keys(cerrs)) {
			it := byName[name]
			for _, ce := range cerrs[name] {
				errs = append(errs, manifest.CompileError(it, ce))
			}
		}
	}
	skipped, gerrs := setGatekeeper(eng, w)
	if !eng.ReadsInventory() {
		w.DropInventory()
	}
	return eng, skipped, append(errs, gerrs...)
}

// printErrors writes bad-input errors, one a line, and returns ExitBadInput.
func printErrors(e *env, cmd string, errs []error) int {
	for _, err := range errs {
		var ie *manifest.InputError
		if errors.As(err, &ie) {
			fmt.Fprintln(e.stderr, report.Quote(ie.Error()))
			continue
		}
		fmt.Fprintf(e.stderr, "guardrails %s: %s\n", cmd, report.Quote(err.Error()))
	}
	return ExitBadInput
}
