package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// patched ends every reconcile (deferred): the status helper writes what
// changed, and a result beside an error is dropped (controller-runtime
// ignores it, and says so).
func patched[T v1alpha1.Object](ctx context.Context, st *status.Helper[T], obj T, res ctrl.Result, err error) (ctrl.Result, error) {
	if err = st.Patch(ctx, obj, err); err != nil {
		return ctrl.Result{}, err
	}
	return res, nil
}

// evaluateForStatus asks the engine about obj, records the decision in its
// status (status.Record) and returns the outcome the decision gives
// (judged).
func evaluateForStatus(ctx context.Context, res resolve.Resolver, e *policy.Engine, obj v1alpha1.Object, now time.Time) (status.Outcome, error) {
	preq, err := res.Request(ctx, obj, policy.OperationAudit, now)
	if err != nil {
		return status.Outcome{}, status.Fail(ReasonResolveFailed, err)
	}
	d, err := e.Evaluate(ctx, preq)
	if err != nil {
		return status.Outcome{}, status.Fail(ReasonEvalFailed, err)
	}
	status.Record(obj, d)
	return judged(d, status.Outcome{Ready: true, Reason: ReasonValid}), nil
}

// judged is the outcome of a decision: PolicyDenied and Stalled, naming the
// deny results, when it denies; ok otherwise.
func judged(d *policy.Decision, ok status.Outcome) status.Outcome {
	if d.Denied() {
		return status.Outcome{Reason: ReasonPolicyDenied, Message: summary(d), Stalled: true}
	}
	return ok
}

// Bounds on what policies put in an event or a condition: a custom
// policy's message is as long as its author makes it. Cut text ends with
// how much was cut.
const (
	maxConditionMessage = status.MaxConditionMessage
	maxEventMessage     = 1024
)

// bound cuts s to at most n bytes (on a rune boundary), saying so.
func bound(s string, n int) string { return policy.Bound(s, n) }

// summary is a condition message naming the deny results, whole entries
// while they fit in maxConditionMessage, then "… and N more".
func summary(d *policy.Decision) string {
	if d == nil {
		return ""
	}
	denies := d.Denies()
	var b strings.Builder
	for i, res := range denies {
		entry := bound(res.Policy+": "+res.Message, maxConditionMessage/2)
		more := fmt.Sprintf("; … and %d more", len(denies)-i)
		if i > 0 && b.Len()+2+len(entry)+len(more) > maxConditionMessage {
			b.WriteString(more)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(entry)
	}
	return b.String()
}

// eventMessage bounds an event's message.
func eventMessage(s string) string { return bound(s, maxEventMessage) }
