package controllers

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// GuardrailPolicyReconciler compiles custom policies into the engine. The
// engine's set is rebuilt from every GuardrailPolicy; a policy that does not
// compile keeps its last good version in force and reports its errors with
// line:col in status.
type GuardrailPolicyReconciler struct {
	client.Client
	Engine *policy.Engine
}

// Reconcile rebuilds the engine's custom set and writes this policy's status.
func (r *GuardrailPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var list v1alpha1.GuardrailPolicyList
	if err := r.List(ctx, &list); err != nil {
		return ctrl.Result{}, err
	}
	errs := r.Engine.SetPolicies(list.Items)
	var gp *v1alpha1.GuardrailPolicy
	for i := range list.Items {
		if list.Items[i].Name == req.Name {
			gp = &list.Items[i]
		}
	}
	if gp == nil {
		return ctrl.Result{}, nil
	}
	before := gp.Status.DeepCopy()
	gp.Status.Errors = nil
	if ce := errs[gp.Name]; len(ce) > 0 {
		var lines []string
		for _, e := range ce {
			if len(gp.Status.Errors) < 20 {
				gp.Status.Errors = append(gp.Status.Errors, v1alpha1.PolicyError{Module: e.Module, Line: int32(e.Line), Column: int32(e.Column), Message: e.Message})
			}
			lines = append(lines, e.Error())
		}
		gp.Status.Compiled = false
		setReady(&gp.Status.Conditions, gp.Generation, false, ReasonCompileFailed, strings.Join(lines, "; "), true)
	} else {
		gp.Status.Compiled = true
		setReady(&gp.Status.Conditions, gp.Generation, true, ReasonCompiled, fmt.Sprintf("compiled; evaluates %v", gp.Spec.Targets), false)
	}
	gp.Status.ObservedGeneration = gp.Generation
	if !equality.Semantic.DeepEqual(before, &gp.Status) {
		return ctrl.Result{}, r.Status().Update(ctx, gp)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches policies (spec changes only).
func (r *GuardrailPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.GuardrailPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("guardrailpolicy").
		Complete(r)
}

// PolicyExceptionReconciler records whether an exception is in force and
// requeues at its expiry; the status change re-evaluates its targets through
// their controllers' exception watches.
type PolicyExceptionReconciler struct {
	client.Client
	Engine *policy.Engine
	Clock  clock.PassiveClock
}

// Reconcile writes Active or Expired and requeues at expiry.
func (r *PolicyExceptionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pex v1alpha1.PolicyException
	if err := r.Get(ctx, req.NamespacedName, &pex); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := pex.Status.DeepCopy()
	now := r.Clock.Now()
	active := now.Before(pex.Spec.ExpiresAt.Time)
	pex.Status.Active = boolPtr(active)
	ok, reason, msg, err := evaluateForStatus(ctx, r.Client, r.Engine, &pex, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case !ok:
		setReady(&pex.Status.Conditions, pex.Generation, false, reason, msg, true)
	case active:
		setReady(&pex.Status.Conditions, pex.Generation, true, ReasonActive, "waives "+strings.Join(pex.Spec.Policies, ", ")+" until "+pex.Spec.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"), false)
	default:
		setReady(&pex.Status.Conditions, pex.Generation, false, ReasonExpired, "expired at "+pex.Spec.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"), true)
	}
	pex.Status.ObservedGeneration = pex.Generation
	if !equality.Semantic.DeepEqual(before, &pex.Status) {
		if err := r.Status().Update(ctx, &pex); err != nil {
			return ctrl.Result{}, err
		}
	}
	if active {
		return ctrl.Result{RequeueAfter: pex.Spec.ExpiresAt.Sub(now)}, nil
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches exceptions (spec changes only).
func (r *PolicyExceptionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PolicyException{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("policyexception").
		Complete(r)
}
