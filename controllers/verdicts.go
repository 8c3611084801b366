package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// newVerdict says whether a denied object's status holds a verdict other
// than the one it held before: it was not denied then, or its violations
// differ. PolicyViolation is recorded only then, once per verdict rather
// than once per reconcile of the same one.
func newVerdict(before, after *v1alpha1.CommonStatus, wasDenied bool) bool {
	return !wasDenied || !equality.Semantic.DeepEqual(before.Violations, after.Violations)
}

// conflictRetry is how soon a reconcile that lost an optimistic-concurrency
// race runs again (the newer object's own event usually comes first).
const conflictRetry = time.Second

// requeueConflicts wraps a reconciler so that a conflict ("the object has
// been modified") is a requeue, logged at V(1) without a stack, instead of a
// "Reconciler error" with one: a conflict is a reconcile that read a stale
// copy, not a fault.
func requeueConflicts(inner reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		res, err := inner.Reconcile(ctx, req)
		if err != nil && apierrors.IsConflict(err) {
			logf.FromContext(ctx).V(1).Info("conflict, reconciling again", "reason", err.Error())
			return reconcile.Result{RequeueAfter: conflictRetry}, nil
		}
		return res, err
	})
}
