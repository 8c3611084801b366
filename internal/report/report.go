// Package report turns the engine's decisions on the objects of a check
// into object reports and a summary, and writes them as text, JSON, JUnit
// or SARIF: data in, bytes out.
package report

import (
	"fmt"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// ObjectReport is the verdict on one object of the inputs.
type ObjectReport struct {
	File       string // "" for objects read from a cluster
	Line       int
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Policies are the policies that judged the object, by name; Disabled
	// those targeting its kind that the PlatformStandard in force disables
	// (both as the engine's decision says).
	Policies []string
	Disabled []string
	Results  []policy.Result // by policy; waived results included
}

// New is the report on one object of kind at file:line (file "" for one
// read from a cluster), from the engine's decision on it.
func New(kind, file string, line int, d *policy.Decision) *ObjectReport {
	return &ObjectReport{
		File:       file,
		Line:       line,
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       kind,
		Namespace:  d.Namespace,
		Name:       d.Name,
		Policies:   d.Policies,
		Disabled:   d.Disabled,
		Results:    d.Results,
	}
}

// Outcome levels, worst first.
const (
	OutcomeError  = policy.EnforcementError
	OutcomeDeny   = string(v1alpha1.EnforcementDeny)
	OutcomeWarn   = string(v1alpha1.EnforcementWarn)
	OutcomeAudit  = string(v1alpha1.EnforcementAudit)
	OutcomePassed = "passed"
)

var outcomeRank = map[string]int{OutcomeError: 4, OutcomeDeny: 3, OutcomeWarn: 2, OutcomeAudit: 1}

// Outcome is the worst enforcement among the results no exception waives,
// or "passed".
func (o *ObjectReport) Outcome() string {
	worst := OutcomePassed
	for _, r := range o.Results {
		if !r.Waived() && outcomeRank[r.Enforcement] > outcomeRank[worst] {
			worst = r.Enforcement
		}
	}
	return worst
}

// Ref is "Kind/namespace/name" or "Kind/name".
func (o *ObjectReport) Ref() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Pos is "file:line".
func (o *ObjectReport) Pos() string {
	if o.File == "" {
		return "cluster"
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

// Summary counts objects by outcome.
type Summary struct {
	Objects int `json:"objects"`
	Deny    int `json:"deny"`
	Warn    int `json:"warn"`
	Audit   int `json:"audit"`
	Passed  int `json:"passed"`
	Error   int `json:"error"`  // objects a policy failed to evaluate
	Waived  int `json:"waived"` // results waived by an exception
}

// Add counts one object.
func (s *Summary) Add(o *ObjectReport) {
	s.Objects++
	switch o.Outcome() {
	case OutcomeError:
		s.Error++
	case OutcomeDeny:
		s.Deny++
	case OutcomeWarn:
		s.Warn++
	case OutcomeAudit:
		s.Audit++
	default:
		s.Passed++
	}
	for _, r := range o.Results {
		if r.Waived() {
			s.Waived++
		}
	}
}

// Writer writes a check's report as the objects are judged, in input
// order, so that a check holds the reports of the objects it is
// evaluating, not of every object; End writes what comes last: the
// summary.
type Writer interface {
	Object(o *ObjectReport) error
	End(s Summary) error
}

// nsName is "namespace/name", or "name" for cluster-scoped objects.
func nsName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
