package controllers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// VendorReconciler records a vendor's validity (policies targeting Vendor,
// DPA and security review dates) and how many integrations use it. Its
// dependents are re-reconciled by their own controllers' vendor watches.
type VendorReconciler struct {
	client.Client
	Engine *policy.Engine
	Clock  clock.PassiveClock
	// PolicyChanges fires after the engine's GuardrailPolicies changed.
	PolicyChanges <-chan event.GenericEvent
}

// Reconcile evaluates the vendor and writes its status.
func (r *VendorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var v v1alpha1.Vendor
	if err := r.Get(ctx, req.NamespacedName, &v); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := v.Status.DeepCopy()
	now := r.Clock.Now()
	var users v1alpha1.SaaSIntegrationList
	if err := r.List(ctx, &users, client.MatchingFields{indexVendor: v.Name}); err != nil {
		return ctrl.Result{}, err
	}
	v.Status.Integrations = int32(min(len(users.Items), math.MaxInt32))
	ok, reason, msg, err := evaluateForStatus(ctx, r.Client, r.Engine, &v, &v.Status.CommonStatus, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ok {
		msg = fmt.Sprintf("%s vendor used by %s", v.Spec.Status, plural(int(v.Status.Integrations), "integration"))
		if notes := vendorNotes(&v, now); len(notes) > 0 {
			msg += "; " + strings.Join(notes, "; ")
		}
	}
	setReady(&v.Status.Conditions, v.Generation, ok, reason, msg, !ok)
	v.Status.ObservedGeneration = v.Generation
	if !equality.Semantic.DeepEqual(before, &v.Status) {
		return ctrl.Result{}, r.Status().Update(ctx, &v)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches vendors and the integrations that count them.
func (r *VendorReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Vendor{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SaaSIntegration{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			si, ok := o.(*v1alpha1.SaaSIntegration)
			if !ok {
				return nil
			}
			return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: si.Spec.Vendor}}}
		}), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(exceptionTargets(v1alpha1.KindVendor))).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.VendorList](r.Client)))).
		Named("vendor").
		Complete(requeueConflicts(r))
}

// PlatformStandardReconciler records a standard's validity. Workloads and
// integrations watch standards themselves and re-reconcile on a change.
type PlatformStandardReconciler struct {
	client.Client
	Engine *policy.Engine
	Clock  clock.PassiveClock
	// PolicyChanges fires after the engine's GuardrailPolicies changed (a
	// name in spec.policies may have come to exist, or gone).
	PolicyChanges <-chan event.GenericEvent
}

// Reconcile evaluates the standard and writes its status.
func (r *PlatformStandardReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s v1alpha1.PlatformStandard
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := s.Status.DeepCopy()
	ok, reason, msg, err := evaluateForStatus(ctx, r.Client, r.Engine, &s, &s.Status.CommonStatus, r.Clock.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	if ok {
		msg = "standard in force"
		// The engine's policy-names check warns; a standard naming a policy
		// that does not exist does not do what it says, so it is not Ready.
		if unknown := r.Engine.UnknownPolicyNames(&s); len(unknown) > 0 {
			ok, reason, msg = false, ReasonUnknownPolicy, "unknown policy names in spec.policies: "+strings.Join(unknown, ", ")
		}
	}
	setReady(&s.Status.Conditions, s.Generation, ok, reason, msg, !ok)
	s.Status.ObservedGeneration = s.Generation
	if !equality.Semantic.DeepEqual(before, &s.Status) {
		return ctrl.Result{}, r.Status().Update(ctx, &s)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches standards.
func (r *PlatformStandardReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PlatformStandard{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(exceptionTargets(v1alpha1.KindPlatformStandard))).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.PlatformStandardList](r.Client)))).
		Named("platformstandard").
		Complete(requeueConflicts(r))
}

// evaluateForStatus asks the engine about obj, records the results in
// status.violations, and returns whether it is free of deny results, with a
// condition reason and message.
func evaluateForStatus(ctx context.Context, c client.Reader, e *policy.Engine, obj client.Object, status *v1alpha1.CommonStatus, now time.Time) (bool, string, string, error) {
	preq, err := resolve.Resolver{Reader: c}.Request(ctx, obj, policy.OperationAudit, now)
	if err != nil {
		return false, "", "", err
	}
	d, err := e.Evaluate(ctx, preq)
	if err != nil {
		return false, "", "", err
	}
	setViolations(status, d)
	if d.Denied() {
		return false, ReasonPolicyDenied, summary(d), nil
	}
	return true, ReasonValid, "", nil
}

// vendorNotes say which of a vendor's dates have passed, by the engine's
// expiry rule.
func vendorNotes(v *v1alpha1.Vendor, now time.Time) []string {
	d := policy.Dates(v, now)
	var notes []string
	if d.DPAExpired {
		notes = append(notes, "DPA expired "+d.DPAExpires.UTC().Format(time.DateOnly))
	}
	if d.ReviewExpired {
		notes = append(notes, "security review expired "+d.ReviewExpires.UTC().Format(time.DateOnly))
	}
	return notes
}

// exceptionTargets maps a PolicyException to its targets of one
// cluster-scoped kind.
func exceptionTargets(kind string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []ctrl.Request {
		pex, ok := o.(*v1alpha1.PolicyException)
		if !ok {
			return nil
		}
		var out []ctrl.Request
		for _, t := range pex.Spec.Targets {
			if string(t.Kind) == kind {
				out = append(out, ctrl.Request{NamespacedName: client.ObjectKey{Name: t.Name}})
			}
		}
		return out
	}
}

// listAll maps any event to every object of a kind, read from the cache:
// a change a standard or the policy set makes reaches every object it judges.
func listAll[L any, PL interface {
	*L
	client.ObjectList
}](c client.Reader) handler.MapFunc {
	return func(ctx context.Context, _ client.Object) []ctrl.Request {
		list := PL(new(L))
		if err := c.List(ctx, list); err != nil {
			logf.FromContext(ctx).Error(err, "listing the objects a change may affect")
			return nil
		}
		var out []ctrl.Request
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok {
				out = append(out, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
			}
			return nil
		})
		return out
	}
}

// plural writes n and noun, with an s unless n is 1: "1 integration",
// "0 integrations".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
