package controllers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// GuardrailPolicyReconciler reports what the policy loader (internal/policyset,
// the one owner of the engine's custom policies) made of each policy: a
// policy that does not compile keeps its last good version in force and its
// status lists the errors with line:col. Policies that target
// GuardrailPolicy judge it too (status.violations).
type GuardrailPolicyReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Policies   *policyset.Loader
	Clock      clock.PassiveClock
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
}

// loadWait is how soon a policy is looked at again when the loader has not
// yet loaded its generation (it reloads on the same watch event).
const loadWait = 200 * time.Millisecond

// Reconcile writes this policy's status once the loader holds its generation.
func (r *GuardrailPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var gp v1alpha1.GuardrailPolicy
	if err := r.Get(ctx, req.NamespacedName, &gp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if gen, ok := r.Policies.Loaded(gp.Name); !ok || gen < gp.Generation {
		return ctrl.Result{RequeueAfter: loadWait}, nil
	}
	st := status.NewHelper(r.Client, &gp)
	defer func() { res, err = patched(ctx, st, &gp, res, err) }()
	// Whether it compiled, not what policies say of it, makes it Ready.
	if _, err := evaluateForStatus(ctx, resolve.Resolver{Reader: r.Client, Catalogues: r.Catalogues}, r.Policies.Engine(), &gp, r.Clock.Now()); err != nil {
		return ctrl.Result{}, err
	}
	gp.Status.Errors = nil
	if ce := r.Policies.Engine().Errors(gp.Name); len(ce) > 0 {
		var lines []string
		for _, e := range ce {
			if len(gp.Status.Errors) < 20 {
				gp.Status.Errors = append(gp.Status.Errors, v1alpha1.PolicyError{Module: e.Module, Line: int32(min(e.Line, math.MaxInt32)), Column: int32(min(e.Column, math.MaxInt32)), Message: e.Message}) //nolint:gosec // min bounds both; compile errors have no negative positions
			}
			lines = append(lines, e.Error())
		}
		gp.Status.Compiled = false
		status.Set(&gp, status.Outcome{Reason: ReasonCompileFailed, Message: strings.Join(lines, "; "), Stalled: true})
	} else {
		gp.Status.Compiled = true
		status.Set(&gp, status.Outcome{Ready: true, Reason: ReasonCompiled, Message: fmt.Sprintf("compiled; evaluates %v", gp.Spec.Targets)})
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches policies (spec changes only).
func (r *GuardrailPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.GuardrailPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Named("guardrailpolicy").
		Complete(requeueConflicts(r))
}

// PolicyExceptionReconciler records whether an exception is in force and
// requeues at its expiry; the status change re-evaluates its targets through
// their controllers' exception watches.
type PolicyExceptionReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Engine     *policy.Engine
	Clock      clock.PassiveClock
	// PolicyChanges fires after the engine's GuardrailPolicies changed (a
	// policy the exception names may have come to exist, or gone).
	PolicyChanges <-chan event.GenericEvent
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
}

// Reconcile writes Active or Expired and requeues at expiry.
func (r *PolicyExceptionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var pex v1alpha1.PolicyException
	if err := r.Get(ctx, req.NamespacedName, &pex); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := status.NewHelper(r.Client, &pex)
	defer func() { res, err = patched(ctx, st, &pex, res, err) }()
	now := r.Clock.Now()
	active := policy.ExceptionActive(&pex, now)
	pex.Status.Active = ptr.To(active)
	verdict, err := evaluateForStatus(ctx, resolve.Resolver{Reader: r.Client, Catalogues: r.Catalogues}, r.Engine, &pex, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	expires := pex.Spec.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	switch {
	case !verdict.Ready:
	case active:
		verdict = status.Outcome{Ready: true, Reason: ReasonActive, Message: "waives " + strings.Join(pex.Spec.Policies, ", ") + " until " + expires}
	default:
		verdict = status.Outcome{Reason: ReasonExpired, Message: "expired at " + expires, Stalled: true}
	}
	status.Set(&pex, verdict)
	if active {
		return ctrl.Result{RequeueAfter: pex.Spec.ExpiresAt.Sub(now)}, nil
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches exceptions (spec changes only).
func (r *PolicyExceptionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PolicyException{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.PolicyExceptionList](r.Client)))).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Named("policyexception").
		Complete(requeueConflicts(r))
}
