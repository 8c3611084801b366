package cli

import (
	"context"
	"fmt"
	"time"

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

// Outcome levels, worst first.
const (
	outcomeError  = policy.EnforcementError
	outcomeDeny   = string(v1alpha1.EnforcementDeny)
	outcomeWarn   = string(v1alpha1.EnforcementWarn)
	outcomeAudit  = string(v1alpha1.EnforcementAudit)
	outcomePassed = "passed"
)

var outcomeRank = map[string]int{outcomeError: 4, outcomeDeny: 3, outcomeWarn: 2, outcomeAudit: 1}

// Outcome is the worst enforcement among the results no exception waives,
// or "passed".
func (o *ObjectReport) Outcome() string {
	worst := outcomePassed
	for _, r := range o.Results {
		if !r.Waived() && outcomeRank[r.Enforcement] > outcomeRank[worst] {
			worst = r.Enforcement
		}
	}
	return worst
}

// Ref is "Kind/namespace/name" or "Kind/name".
func (o *ObjectReport) Ref() string { return objectKey(o.Kind, o.Namespace, o.Name) }

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

// add counts one object.
func (s *Summary) add(o *ObjectReport) {
	s.Objects++
	switch o.Outcome() {
	case outcomeError:
		s.Error++
	case outcomeDeny:
		s.Deny++
	case outcomeWarn:
		s.Warn++
	case outcomeAudit:
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

// evalChunk is how many items evaluateStream judges at a time.
const evalChunk = 256

// memoLimit bounds the SaaSIntegration decisions a check keeps for reuse.
const memoLimit = 4 * evalChunk

// evaluateStream decides on each item through the engine, with the request
// the webhook would build for it (operation CHECK), and hands the reports
// to emit in the order of items. The items are evaluated evalChunk at a
// time, each chunk in parallel on GOMAXPROCS goroutines (the engine is safe
// for concurrent use and the World is only read), so that memory holds one
// chunk's objects and reports, however many items there are. The first
// error by position ends it, after the reports before it were emitted.
// The items share one policy.Memo: a SaaSIntegration is evaluated once,
// whether as an item or for the workloads referencing it (until the memo
// holds memoLimit decisions and starts over).
func evaluateStream(ctx context.Context, eng *policy.Engine, w *World, items []*item, now time.Time, emit func(*ObjectReport) error) error {
	memo := policy.NewBoundedMemo(memoLimit)
	out := make([]*ObjectReport, min(evalChunk, len(items)))
	errs := make([]error, len(out))
	for start := 0; start < len(items); start += evalChunk {
		chunk := items[start:min(start+evalChunk, len(items))]
		// Items before a failed one all finish, so the first error by
		// position is kept.
		inParallel(len(chunk), func(i int) bool {
			out[i], errs[i] = evaluateItem(ctx, eng, w, memo, chunk[i], now)
			return errs[i] == nil
		})
		for i := range chunk {
			if errs[i] != nil {
				return errs[i]
			}
			if err := emit(out[i]); err != nil {
				return err
			}
			out[i] = nil
		}
	}
	return nil
}

// evaluate is evaluateStream keeping every report.
func evaluate(ctx context.Context, eng *policy.Engine, w *World, items []*item, now time.Time) ([]*ObjectReport, error) {
	reports := make([]*ObjectReport, 0, len(items))
	err := evaluateStream(ctx, eng, w, items, now, func(o *ObjectReport) error {
		reports = append(reports, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reports, nil
}

// evaluateItem decides on one item.
func evaluateItem(ctx context.Context, eng *policy.Engine, w *World, memo *policy.Memo, it *item, now time.Time) (*ObjectReport, error) {
	req, err := w.Request(ctx, it.obj, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", it.pos(), it.key(), err)
	}
	req.Memo = memo
	d, err := eng.Evaluate(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", it.pos(), it.key(), err)
	}
	rep := &ObjectReport{
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       it.kind,
		Namespace:  d.Namespace,
		Name:       d.Name,
		Results:    d.Results,
	}
	if it.doc != nil {
		rep.File, rep.Line = it.doc.File, it.doc.Line
	}
	rep.Policies, rep.Disabled = d.Policies, d.Disabled
	return rep, nil
}
