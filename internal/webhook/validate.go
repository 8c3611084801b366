package webhook

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// kind describes one of our kinds to the generic validator.
type kind[T client.Object] struct {
	name string
	// spec returns the object's spec: an update that leaves it unchanged
	// (labels, annotations, finalizers) is not judged.
	spec func(T) any
	// check, when set, returns what makes the object malformed before any
	// policy looks at it (Rego that does not compile).
	check func(*Webhooks, T) []violation
}

var (
	workloadKind = kind[*v1alpha1.MarketingWorkload]{
		name: v1alpha1.KindMarketingWorkload,
		spec: func(o *v1alpha1.MarketingWorkload) any { return &o.Spec },
	}
	integrationKind = kind[*v1alpha1.SaaSIntegration]{
		name: v1alpha1.KindSaaSIntegration,
		spec: func(o *v1alpha1.SaaSIntegration) any { return &o.Spec },
	}
	vendorKind = kind[*v1alpha1.Vendor]{
		name: v1alpha1.KindVendor,
		spec: func(o *v1alpha1.Vendor) any { return &o.Spec },
	}
	standardKind = kind[*v1alpha1.PlatformStandard]{
		name: v1alpha1.KindPlatformStandard,
		spec: func(o *v1alpha1.PlatformStandard) any { return &o.Spec },
	}
	policyKind = kind[*v1alpha1.GuardrailPolicy]{
		name:  v1alpha1.KindGuardrailPolicy,
		spec:  func(o *v1alpha1.GuardrailPolicy) any { return &o.Spec },
		check: (*Webhooks).checkPolicy,
	}
	exceptionKind = kind[*v1alpha1.PolicyException]{
		name: v1alpha1.KindPolicyException,
		spec: func(o *v1alpha1.PolicyException) any { return &o.Spec },
	}
)

// validator judges one kind: the kind's own checks, then every policy in
// force through the engine. It implements admission.Validator.
type validator[T client.Object] struct {
	w    *Webhooks
	kind kind[T]
}

// ValidateCreate judges a new object.
func (v *validator[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	var none T
	return v.validate(ctx, policy.OperationCreate, obj, none)
}

// ValidateUpdate judges a change of the spec or the labels (which policies
// may read); other metadata-only updates (annotations, finalizers) pass. The
// matchConditions of the webhook configuration keep those off the webhook
// in the API server already; this is the second line.
func (v *validator[T]) ValidateUpdate(ctx context.Context, oldObj, newObj T) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(v.kind.spec(oldObj), v.kind.spec(newObj)) && maps.Equal(oldObj.GetLabels(), newObj.GetLabels()) {
		return nil, nil
	}
	return v.validate(ctx, policy.OperationUpdate, newObj, oldObj)
}

// ValidateDelete allows: deletes are not routed to the webhook (see the
// markers), and cleanup must never depend on policies.
func (v *validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v *validator[T]) validate(ctx context.Context, op policy.Operation, obj, old T) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if v.w.exempted(req) || obj.GetDeletionTimestamp() != nil {
		return nil, nil
	}
	gk := groupKind(v.kind.name)
	if v.kind.check != nil {
		if bad := v.kind.check(v.w, obj); len(bad) > 0 {
			return nil, rejection(metav1.StatusReasonInvalid, gk, obj.GetName(), bad)
		}
	}
	if err := v.w.policies.WaitSynced(ctx); err != nil {
		return nil, apierrors.NewServiceUnavailable(err.Error())
	}
	if !v.w.targeted(v.kind.name) {
		return nil, nil // no policy in force looks at this kind: the decision would be empty
	}
	preq, err := v.w.resolver.Request(ctx, obj, op, v.w.clock.Now())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf(errResolving, v.kind.name, obj.GetName(), err))
	}
	preq.User = &policy.User{Username: req.UserInfo.Username, Groups: req.UserInfo.Groups}
	if op == policy.OperationUpdate {
		preq.OldObject = old
	}
	d, err := v.w.engine.Evaluate(ctx, preq)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf(errEvaluating, v.kind.name, obj.GetName(), err))
	}
	warnings := decisionWarnings(d)
	denies := d.Denies()
	if len(denies) == 0 {
		return warnings, nil
	}
	vs := make([]violation, len(denies))
	policies := make([]string, len(denies))
	reason := metav1.StatusReasonForbidden
	for i, r := range denies {
		vs[i] = resultViolation(r)
		policies[i] = r.Policy
		if r.IsValidation() {
			// The object is malformed (an unknown taxonomy key): 422, as
			// the API server answers a schema error.
			reason = metav1.StatusReasonInvalid
		}
	}
	logf.FromContext(ctx).Info("denied", "operation", op, "dryRun", req.DryRun != nil && *req.DryRun, "policies", policies)
	return warnings, rejection(reason, gk, obj.GetName(), vs)
}

// targeted reports whether a policy in force (built-in or custom) targets
// the kind; evaluating a kind no policy targets costs the engine's input
// building and yields no result.
func (w *Webhooks) targeted(kind string) bool {
	for _, p := range w.engine.Policies() {
		if slices.Contains(p.Targets, kind) {
			return true
		}
	}
	return false
}

// decisionWarnings are the warn results, the policies that could not be
// evaluated, and the deny and warn results an exception waives (so the
// requester learns what the exception covers and until when).
func decisionWarnings(d *policy.Decision) admission.Warnings {
	var out admission.Warnings
	for _, r := range d.Results {
		switch {
		case r.Waived() && (r.Enforcement == string(v1alpha1.EnforcementDeny) || r.Enforcement == string(v1alpha1.EnforcementWarn)):
			out = append(out, waivedLine(r))
		case r.Waived():
		case r.Enforcement == string(v1alpha1.EnforcementWarn), r.Enforcement == policy.EnforcementError:
			out = append(out, resultLine(r))
		}
	}
	return out
}
