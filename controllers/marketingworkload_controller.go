package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/render"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts;configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete

// MarketingWorkloadReconciler provisions a MarketingWorkload: resolve what it
// references, ask the engine, then apply the rendered children or mark it
// Blocked and leave what runs untouched.
type MarketingWorkloadReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Scheme     *runtime.Scheme
	Engine     *policy.Engine
	Clock      clock.PassiveClock
	Recorder   record.EventRecorder
	// APIReader reads past the cache: the children the cache cannot see
	// (one object at a time, only where the status lists one).
	APIReader client.Reader
	// PolicyChanges fires after the policy loader changed the engine's
	// GuardrailPolicies: every object is judged again, by the new set.
	PolicyChanges <-chan event.GenericEvent
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
	// Concurrency is MaxConcurrentReconciles (1 when zero).
	Concurrency int
}

// Reconcile runs get → resolve → decide → apply or block → status.
func (r *MarketingWorkloadReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var mw v1alpha1.MarketingWorkload
	if err := r.Get(ctx, req.NamespacedName, &mw); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := status.NewHelper(r.Client, &mw)
	defer func() {
		if res, err = patched(ctx, st, &mw, res, err); err == nil {
			r.recordVerdictChange(&mw, &st.Before().Status)
			r.recordPhaseChange(&mw, st.Before().Status.Phase)
		}
	}()
	return r.reconcile(ctx, &mw, r.Clock.Now())
}

func (r *MarketingWorkloadReconciler) reconcile(ctx context.Context, mw *v1alpha1.MarketingWorkload, now time.Time) (ctrl.Result, error) {
	res := resolve.Resolver{Reader: r.Client, ReadsInventory: r.Engine.ReadsInventory, Catalogues: r.Catalogues}
	preq, err := res.Request(ctx, mw, policy.OperationAudit, now)
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonResolveFailed, err)
	}
	decision, err := r.Engine.Evaluate(ctx, preq)
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonEvalFailed, err)
	}
	status.Record(mw, decision)
	effective := render.Effective(mw, preq.Standard)
	mw.Status.Effective = &effective

	if decision.Denied() {
		return r.block(mw, decision)
	}
	children, life, err := render.Render(render.Inputs{
		Workload: mw, Standard: preq.Standard, Integrations: preq.Integrations, Vendors: preq.Vendors, Now: now,
	})
	if errors.Is(err, render.ErrNotFound) {
		// A referenced integration does not exist (yet), and the policies
		// in force let that pass (integration-references lowered to warn):
		// wait for it, observed and not an error; the integrations watch
		// reconciles again when it appears. Nothing running is touched.
		status.Set(mw, status.Outcome{Reason: ReasonWaitingForIntegration, Message: err.Error()})
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonApplyFailed, err)
	}
	refs, err := r.applyChildren(ctx, mw, children)
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonApplyFailed, err)
	}
	mw.Status.Phase = life.Phase
	mw.Status.URL = render.URL(mw, life)
	mw.Status.NextTransition = metaTime(life.NextTransition)
	mw.Status.Resources = refs
	mw.Status.ArchivedAt = archivedAt(mw.Status.ArchivedAt, life.Phase, now)
	msg := fmt.Sprintf("%s: %d child objects applied", life.Phase, len(mw.Status.Resources))
	reason := ReasonProvisioned
	if life.Phase == v1alpha1.PhaseArchived {
		reason, msg = ReasonArchived, "campaign archived: children deleted, record kept"
	}
	status.Set(mw, status.Outcome{Ready: true, Reason: reason, Message: msg})
	if life.NextTransition != nil {
		return ctrl.Result{RequeueAfter: life.NextTransition.Sub(now)}, nil
	}
	return ctrl.Result{}, nil
}

// archivedAt is status.archivedAt after a reconcile that found phase: kept
// while Archived, the first such reconcile's instant, cleared otherwise (new
// campaign dates brought the workload back).
func archivedAt(was *metav1.Time, phase v1alpha1.WorkloadPhase, now time.Time) *metav1.Time {
	switch {
	case phase != v1alpha1.PhaseArchived:
		return nil
	case was != nil:
		return was
	default:
		return &metav1.Time{Time: now}
	}
}

// block marks the workload Blocked. Nothing is applied and nothing running is
// touched: a policy change never tears a live campaign down.
func (r *MarketingWorkloadReconciler) block(mw *v1alpha1.MarketingWorkload, d *policy.Decision) (ctrl.Result, error) {
	mw.Status.Phase = v1alpha1.PhaseBlocked
	status.Set(mw, judged(d, status.Outcome{}))
	return ctrl.Result{}, nil
}

// recordVerdictChange records PolicyViolation when the workload is Blocked by
// a verdict other than the one status held before: once per new verdict,
// not once per reconcile of the same one.
func (r *MarketingWorkloadReconciler) recordVerdictChange(mw *v1alpha1.MarketingWorkload, before *v1alpha1.MarketingWorkloadStatus) {
	if mw.Status.Phase != v1alpha1.PhaseBlocked {
		return
	}
	if !newVerdict(&before.CommonStatus, &mw.Status.CommonStatus, before.Phase == v1alpha1.PhaseBlocked) {
		return
	}
	r.Recorder.Event(mw, corev1.EventTypeWarning, EventPolicyViolation, eventMessage(readyMessage(mw.Status.Conditions)))
}

func (r *MarketingWorkloadReconciler) recordPhaseChange(mw *v1alpha1.MarketingWorkload, old v1alpha1.WorkloadPhase) {
	if mw.Status.Phase == old {
		return
	}
	switch mw.Status.Phase {
	case v1alpha1.PhaseBlocked:
		r.Recorder.Eventf(mw, corev1.EventTypeWarning, EventBlocked, "%s", eventMessage("blocked by policy; running children left as they were: "+readyMessage(mw.Status.Conditions)))
	case v1alpha1.PhaseEnded:
		r.Recorder.Event(mw, corev1.EventTypeNormal, EventCampaignEnded, "campaign ended: scaled to zero, ingress removed")
	case v1alpha1.PhaseScheduled, v1alpha1.PhaseActive:
		r.Recorder.Eventf(mw, corev1.EventTypeNormal, EventProvisioned, "provisioned (%s)", mw.Status.Phase)
	}
}

// SetupWithManager watches the workload, its children, and what it depends
// on through field indexes, so a change re-reconciles exactly the dependents.
func (r *MarketingWorkloadReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr)
	for _, child := range render.OwnedTypes() {
		// Metadata only: what upToDate and childChanged read.
		b = b.Owns(child, builder.WithPredicates(childChanged), builder.OnlyMetadata)
	}
	return b.
		For(&v1alpha1.MarketingWorkload{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&v1alpha1.SaaSIntegration{}, handler.EnqueueRequestsFromMapFunc(r.forIntegration)).
		Watches(&v1alpha1.Vendor{}, handler.EnqueueRequestsFromMapFunc(r.forVendor), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PlatformStandard{}, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.MarketingWorkloadList](r.Client)), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.MarketingWorkloadList](r.Client)))).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(r.forException)).
		Named("marketingworkload").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Complete(requeueConflicts(r))
}

// childChanged lets through the child events that may call for an apply:
// deletions, and updates that touch what the operator sets (the spec, as
// the generation shows for kinds that have one; labels, annotations, owner
// references). Creations (the operator's own applies) and status-only
// updates, such as a Deployment's rollout progress, would each cost a
// reconcile that finds nothing to do.
var childChanged = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		if o == nil || n == nil || n.GetGeneration() == 0 || o.GetGeneration() != n.GetGeneration() {
			return true
		}
		return !maps.Equal(o.GetLabels(), n.GetLabels()) ||
			!maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
			!equality.Semantic.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) ||
			!equality.Semantic.DeepEqual(o.GetDeletionTimestamp(), n.GetDeletionTimestamp())
	},
}

func (r *MarketingWorkloadReconciler) forIntegration(ctx context.Context, o client.Object) []ctrl.Request {
	var list v1alpha1.MarketingWorkloadList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexIntegrationNames: o.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing workloads of integration", "integration", o.GetName())
		return nil
	}
	return requestsOf(list.Items)
}

func (r *MarketingWorkloadReconciler) forVendor(ctx context.Context, o client.Object) []ctrl.Request {
	var sis v1alpha1.SaaSIntegrationList
	if err := r.List(ctx, &sis, client.MatchingFields{indexVendor: o.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing integrations of vendor", "vendor", o.GetName())
		return nil
	}
	var out []ctrl.Request
	for i := range sis.Items {
		out = append(out, r.forIntegration(ctx, &sis.Items[i])...)
	}
	return out
}

func (r *MarketingWorkloadReconciler) forException(ctx context.Context, o client.Object) []ctrl.Request {
	pex, ok := o.(*v1alpha1.PolicyException)
	if !ok {
		return nil
	}
	var out []ctrl.Request
	for _, t := range pex.Spec.Targets {
		switch t.Kind {
		case v1alpha1.KindMarketingWorkload:
			out = append(out, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: pex.Namespace, Name: t.Name}})
		case v1alpha1.KindSaaSIntegration:
			out = append(out, r.forIntegration(ctx, &v1alpha1.SaaSIntegration{ObjectMeta: objectMeta(pex.Namespace, t.Name)})...)
		}
	}
	return out
}

// requestsOf turns listed items into reconcile requests.
func requestsOf[T any, PT interface {
	*T
	client.Object
}](items []T) []ctrl.Request {
	out := make([]ctrl.Request, 0, len(items))
	for i := range items {
		out = append(out, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(PT(&items[i]))})
	}
	return out
}
