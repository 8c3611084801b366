package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

const checkUsage = `
Usage: guardrails check [flags] [-f PATH ...] [PATH ...]

Validate manifests offline and evaluate the policies on them, as the
admission webhook would (operation CHECK). Every martech.guardrails.dev
object is validated against its CRD schema and CEL rules, defaulted, and
evaluated by the built-in policies and the GuardrailPolicies among the
inputs. Vendors, the PlatformStandard, SaaSIntegrations, GuardrailPolicies,
PolicyExceptions, Namespaces and Secrets (metadata only) among the inputs
form the world the objects are judged in. Gatekeeper ConstraintTemplates and
constraints among the inputs judge the children each MarketingWorkload
would render; every other object is their data.inventory, not judged.

Exit status: 0 no deny result, 1 a deny result (or a policy that could not
be evaluated), 2 bad input or usage, or no object to check among the -f
inputs (an empty file, directory or stdin) unless --allow-empty.`

const checkExamples = `  # Check a directory of manifests
  guardrails check -f config/samples

  # Check what kustomize renders, with the catalogue and standard kept apart
  kustomize build overlays/prod | guardrails check -f - --vendors catalogue/ --standard it/standard.yaml

  # SARIF for GitHub code scanning, JUnit for CI test reports
  guardrails check -f manifests/ -o sarif > guardrails.sarif
  guardrails check -f manifests/ -o junit > guardrails.xml

  # Reproducible verdicts (campaign windows, DPA and exception expiry)
  guardrails check -f manifests/ --now 2026-12-01T00:00:00Z -o json`

func runCheck(e *env, args []string) int {
	f := newFlags("check", checkUsage, checkExamples)
	var in inputFlags
	in.register(f, true)
	format := choice{value: "text", allowed: []string{"text", "json", "junit", "sarif"}}
	f.Var(&format, "o", "output `FORMAT`: text, json, junit or sarif")
	var allowEmpty bool
	f.BoolVar(&allowEmpty, "allow-empty", false, "exit 0 when the inputs hold no object to check (default: exit 2, a pipeline that checked nothing should learn it)")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	in.files = append(in.files, pos...)
	if len(in.files) == 0 {
		return f.usageError(e, "no input: give -f PATH (a file, a directory or - for stdin)")
	}
	ctx := context.Background()
	w, eng, skipped, errs := loadChecked(ctx, e, &in)
	if len(errs) > 0 {
		return printErrors(e, "check", errs)
	}
	printSkipped(e, "check", skipped)
	if len(w.Subjects()) == 0 && !allowEmpty {
		fmt.Fprintf(e.stderr, "guardrails check: no objects to check in %s: no %s object among them (--allow-empty to accept it)\n", strings.Join(in.files, ", "), v1alpha1.GroupVersion.Group)
		return ExitBadInput
	}
	var rw report.Writer
	switch format.value {
	case "json":
		rw = report.NewJSON(e.stdout, skipped...)
	case "junit":
		rw = report.NewJUnit(e.stdout)
	case "sarif":
		var err error
		if rw, err = report.NewSARIF(e.stdout, rules(ctx, eng, w), skipped...); err != nil {
			fmt.Fprintf(e.stderr, "guardrails check: writing the report: %v\n", err)
			return ExitBadInput
		}
	default:
		rw = report.NewText(e.stdout)
	}
	var sum report.Summary
	err := evaluateStream(ctx, eng, w, w.Subjects(), in.now.value(), func(it *manifest.Item, d *policy.Decision) error {
		o := objectReport(it, d)
		sum.Add(o)
		if err := rw.Object(o); err != nil {
			return writeError{err}
		}
		return nil
	})
	if err == nil {
		if err = rw.End(sum); err != nil {
			err = writeError{err}
		}
	}
	var we writeError
	switch {
	case errors.As(err, &we):
		fmt.Fprintf(e.stderr, "guardrails check: writing the report: %v\n", we.err)
		return ExitBadInput
	case err != nil:
		// An object the engine could not judge: the report is cut short.
		return printErrors(e, "check", []error{err})
	case sum.Deny+sum.Error > 0:
		return ExitDenied
	}
	return ExitOK
}

// writeError is a failure to write the report, not a problem of the inputs.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

// checked is the outcome of check on its inputs.
type checked struct {
	world   *manifest.World
	engine  *policy.Engine
	reports []*report.ObjectReport
	now     time.Time
}

// loadChecked loads the inputs and compiles their policies, reporting
// every bad input at once; skipped are the Gatekeeper templates the engine
// does not evaluate.
func loadChecked(ctx context.Context, e *env, in *inputFlags) (*manifest.World, *policy.Engine, []report.Skipped, []error) {
	w, errs := manifest.Load(ctx, in.inputs(e))
	eng, skipped, cerrs := newEngine(w) // also on bad input: report every problem at once
	if errs = append(errs, cerrs...); len(errs) > 0 {
		return nil, nil, nil, manifest.SortErrors(errs)
	}
	return w, eng, skipped, nil
}

// checkInputs loads the inputs, compiles their policies and evaluates every
// object given with -f, keeping every report (guardrails test compares
// them with a suite's expectations).
func checkInputs(ctx context.Context, e *env, in *inputFlags) (*checked, []error) {
	w, eng, _, errs := loadChecked(ctx, e, in)
	if len(errs) > 0 {
		return nil, errs
	}
	now := in.now.value()
	reports, err := evaluate(ctx, eng, w, w.Subjects(), now)
	if err != nil {
		return nil, []error{err}
	}
	return &checked{world: w, engine: eng, reports: reports, now: now}, nil
}

// rules lists every policy in force, with the enforcement the default
// PlatformStandard (or --standard) gives it.
func rules(ctx context.Context, eng *policy.Engine, w *manifest.World) []report.Rule {
	std := w.StandardFor(ctx, "")
	var out []report.Rule
	for _, p := range eng.Policies() {
		set := policy.SettingFor(std, p)
		out = append(out, report.Rule{Info: p, Level: set.Enforcement, Disabled: set.Disabled})
	}
	return out
}
