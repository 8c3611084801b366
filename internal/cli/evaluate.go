package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// evalChunk is how many items evaluateStream judges at a time.
const evalChunk = 256

// memoLimit bounds the SaaSIntegration decisions a check keeps for reuse.
const memoLimit = 4 * evalChunk

// evaluateStream decides on each item through the engine, with the request
// the webhook would build for it (operation CHECK), and hands the decisions
// to emit in the order of items. The items are evaluated evalChunk at a
// time, each chunk in parallel on GOMAXPROCS goroutines (the engine is safe
// for concurrent use and the World is only read), so that memory holds one
// chunk's objects and reports, however many items there are. The first
// error by position ends it, after the reports before it were emitted.
// The items share one policy.Memo: a SaaSIntegration is evaluated once,
// whether as an item or for the workloads referencing it (until the memo
// holds memoLimit decisions and starts over).
func evaluateStream(ctx context.Context, eng *policy.Engine, w *manifest.World, items []*manifest.Item, now time.Time, emit func(*manifest.Item, *policy.Decision) error) error {
	memo := policy.NewBoundedMemo(memoLimit)
	out := make([]*policy.Decision, min(evalChunk, len(items)))
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
			if err := emit(chunk[i], out[i]); err != nil {
				return err
			}
			out[i] = nil
		}
	}
	return nil
}

// evaluate is evaluateStream keeping every object's report.
func evaluate(ctx context.Context, eng *policy.Engine, w *manifest.World, items []*manifest.Item, now time.Time) ([]*report.ObjectReport, error) {
	reports := make([]*report.ObjectReport, 0, len(items))
	err := evaluateStream(ctx, eng, w, items, now, func(it *manifest.Item, d *policy.Decision) error {
		reports = append(reports, objectReport(it, d))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reports, nil
}

// evaluateItem decides on one item.
func evaluateItem(ctx context.Context, eng *policy.Engine, w *manifest.World, memo *policy.Memo, it *manifest.Item, now time.Time) (*policy.Decision, error) {
	req, err := w.Request(ctx, it.Object, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", it.Pos(), it.Key(), err)
	}
	req.Memo = memo
	d, err := eng.Evaluate(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", it.Pos(), it.Key(), err)
	}
	return d, nil
}

// objectReport is the report on an item from the decision on it.
func objectReport(it *manifest.Item, d *policy.Decision) *report.ObjectReport {
	file, line := it.Position()
	return report.New(it.Kind, file, line, d)
}
