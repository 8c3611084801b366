package controllers

import (
	"context"
	"fmt"
	"strings"

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
	"github.com/martech-guardrails/guardrails/internal/status"
)

// PlatformStandardReconciler records a standard's validity. Workloads and
// integrations watch standards themselves and re-reconcile on a change.
type PlatformStandardReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Engine     *policy.Engine
	Clock      clock.PassiveClock
	// PolicyChanges fires after the engine's GuardrailPolicies changed (a
	// name in spec.policies may have come to exist, or gone).
	PolicyChanges <-chan event.GenericEvent
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
}

// Reconcile evaluates the standard and writes its status.
func (r *PlatformStandardReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var s v1alpha1.PlatformStandard
	if err := r.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := status.NewHelper(r.Client, &s)
	defer func() { res, err = patched(ctx, st, &s, res, err) }()
	verdict, err := evaluateForStatus(ctx, resolve.Resolver{Reader: r.Client, Catalogues: r.Catalogues}, r.Engine, &s, r.Clock.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	if verdict.Ready {
		verdict.Message = "standard in force"
		// The engine's policy-names check warns; a standard naming a policy
		// that does not exist does not do what it says, so it is not Ready.
		if unknown := r.Engine.UnknownPolicyNames(&s); len(unknown) > 0 {
			verdict = status.Outcome{Reason: ReasonUnknownPolicy, Message: "unknown policy names in spec.policies: " + strings.Join(unknown, ", "), Stalled: true}
		}
	}
	status.Set(&s, verdict)
	return ctrl.Result{}, nil
}

// SetupWithManager watches standards.
func (r *PlatformStandardReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PlatformStandard{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(exceptionTargets(v1alpha1.KindPlatformStandard))).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.PlatformStandardList](r.Client)))).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Named("platformstandard").
		Complete(requeueConflicts(r))
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
