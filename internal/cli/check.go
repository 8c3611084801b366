package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/policy"
)

const checkUsage = `
Usage: guardrails check [flags] [-f PATH ...] [PATH ...]

Validate manifests offline and evaluate the policies on them, as the
admission webhook would (operation CHECK). Every martech.guardrails.dev
object is validated against its CRD schema and CEL rules, defaulted, and
evaluated by the built-in policies and the GuardrailPolicies among the
inputs. Vendors, the PlatformStandard, SaaSIntegrations, GuardrailPolicies,
PolicyExceptions, Namespaces and Secrets (metadata only) among the inputs
form the world the objects are judged in; other kinds are ignored.

Exit status: 0 no deny result, 1 a deny result (or a policy that could not
be evaluated), 2 bad input or usage.`

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
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	in.files = append(in.files, pos...)
	if len(in.files) == 0 {
		return f.usageError(e, "no input: give -f PATH (a file, a directory or - for stdin)")
	}
	ctx := context.Background()
	w, eng, errs := loadChecked(ctx, e, &in)
	if len(errs) > 0 {
		return printErrors(e, "check", errs)
	}
	var rw reportWriter
	switch format.value {
	case "json":
		rw = newJSONWriter(e.stdout)
	case "junit":
		rw = newJUnitWriter(e.stdout)
	case "sarif":
		var err error
		if rw, err = newSARIFWriter(e.stdout, rules(ctx, eng, w)); err != nil {
			fmt.Fprintf(e.stderr, "guardrails check: writing the report: %v\n", err)
			return ExitBadInput
		}
	default:
		rw = newTextWriter(e.stdout)
	}
	var sum Summary
	err := evaluateStream(ctx, eng, w, w.subjects(), in.now.value(), func(o *ObjectReport) error {
		sum.add(o)
		if err := rw.object(o); err != nil {
			return writeError{err}
		}
		return nil
	})
	if err == nil {
		if err = rw.end(sum); err != nil {
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

// reportWriter writes a check's report as the objects are judged, in input
// order, so that a check holds the reports of the objects it is
// evaluating, not of every object (see evaluateStream); end writes what
// comes last: the summary.
type reportWriter interface {
	object(o *ObjectReport) error
	end(s Summary) error
}

// checked is the outcome of check on its inputs.
type checked struct {
	world   *World
	engine  *policy.Engine
	reports []*ObjectReport
	now     time.Time
}

// loadChecked loads the inputs and compiles their policies, reporting
// every bad input at once.
func loadChecked(ctx context.Context, e *env, in *inputFlags) (*World, *policy.Engine, []error) {
	w, errs := loadWorld(ctx, e, in)
	eng, cerrs := newEngine(w) // also on bad input: report every problem at once
	if errs = append(errs, cerrs...); len(errs) > 0 {
		return nil, nil, sortErrors(errs)
	}
	return w, eng, nil
}

// checkInputs loads the inputs, compiles their policies and evaluates every
// object given with -f, keeping every report (guardrails test compares
// them with a suite's expectations).
func checkInputs(ctx context.Context, e *env, in *inputFlags) (*checked, []error) {
	w, eng, errs := loadChecked(ctx, e, in)
	if len(errs) > 0 {
		return nil, errs
	}
	now := in.now.value()
	reports, err := evaluate(ctx, eng, w, w.subjects(), now)
	if err != nil {
		return nil, []error{err}
	}
	return &checked{world: w, engine: eng, reports: reports, now: now}, nil
}

// textWriter writes the results grouped per object, then the summary line.
type textWriter struct{ out *bufio.Writer }

func newTextWriter(out io.Writer) *textWriter { return &textWriter{out: bufio.NewWriter(out)} }

func (w *textWriter) object(o *ObjectReport) error {
	if len(o.Results) == 0 {
		return nil
	}
	b := w.out
	fmt.Fprintf(b, "%s: %s %s\n", o.Pos(), o.Kind, nsName(o.Namespace, o.Name))
	for _, r := range o.Results {
		label := strings.ToUpper(r.Enforcement)
		if r.Waived() {
			label = "WAIVED"
		}
		msg := r.Message
		if r.Field != "" {
			msg = r.Field + ": " + msg
		}
		fmt.Fprintf(b, "  %-6s %s (%s) %s\n", label, r.Policy, r.Severity, msg)
		if r.Waived() {
			fmt.Fprintf(b, "         waived by PolicyException %s until %s (would be %s)\n",
				r.Exception, r.Exception.ExpiresAt.UTC().Format(time.RFC3339), r.Enforcement)
		}
		if r.Remediation != "" {
			fmt.Fprintf(b, "         fix: %s\n", r.Remediation)
		}
	}
	return b.WriteByte('\n')
}

func (w *textWriter) end(s Summary) error {
	w.out.WriteString(summaryLine(s))
	w.out.WriteByte('\n')
	return w.out.Flush()
}

// summaryLine is e.g. "7 objects: 2 deny, 1 warn, 0 audit, 4 passed".
func summaryLine(s Summary) string {
	line := fmt.Sprintf("%d objects: %d deny, %d warn, %d audit, %d passed", s.Objects, s.Deny, s.Warn, s.Audit, s.Passed)
	if s.Objects == 1 {
		line = strings.Replace(line, "objects", "object", 1)
	}
	if s.Error > 0 {
		line += fmt.Sprintf(", %d error", s.Error)
	}
	if s.Waived > 0 {
		line += fmt.Sprintf(" (%d waived by exceptions)", s.Waived)
	}
	return line
}
