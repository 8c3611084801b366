package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
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

// credentialRecheck is how often an integration's credential age is looked at
// again when nothing else changes (age grows with time alone).
const credentialRecheck = 6 * time.Hour

// SaaSIntegrationReconciler records vendor status, credential presence and
// age (Secret metadata only), which workloads use the integration, and the
// policy verdict.
type SaaSIntegrationReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Engine     *policy.Engine
	Clock      clock.PassiveClock
	Recorder   record.EventRecorder
	// PolicyChanges fires after the policy loader changed the engine's
	// GuardrailPolicies: every object is judged again, by the new set.
	PolicyChanges <-chan event.GenericEvent
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
}

// Reconcile runs get → resolve → decide → status.
func (r *SaaSIntegrationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var si v1alpha1.SaaSIntegration
	if err := r.Get(ctx, req.NamespacedName, &si); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := status.NewHelper(r.Client, &si)
	defer func() {
		if res, err = patched(ctx, st, &si, res, err); err == nil {
			r.recordVerdictChange(&si, st.Before())
		}
	}()
	if err := r.reconcile(ctx, &si, r.Clock.Now()); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: credentialRecheck}, nil
}

// recordVerdictChange records PolicyViolation when the integration is
// denied by a verdict other than the one its status held before.
func (r *SaaSIntegrationReconciler) recordVerdictChange(si, before *v1alpha1.SaaSIntegration) {
	denied := func(s *v1alpha1.SaaSIntegrationStatus) bool { return s.Compliant != nil && !*s.Compliant }
	if denied(&si.Status) && newVerdict(&before.Status.CommonStatus, &si.Status.CommonStatus, denied(&before.Status)) {
		r.Recorder.Event(si, corev1.EventTypeWarning, EventPolicyViolation, eventMessage(readyMessage(si.Status.Conditions)))
	}
}

func (r *SaaSIntegrationReconciler) reconcile(ctx context.Context, si *v1alpha1.SaaSIntegration, now time.Time) error {
	res := resolve.Resolver{Reader: r.Client, Catalogues: r.Catalogues}
	preq, err := res.Request(ctx, si, policy.OperationAudit, now)
	if err != nil {
		return status.Fail(ReasonResolveFailed, err)
	}
	si.Status.VendorStatus = "unknown"
	if v, ok := preq.Vendors[si.Spec.Vendor]; ok {
		si.Status.VendorStatus = string(v.Spec.Status)
	}
	si.Status.CredentialsFound, si.Status.CredentialRotatedAt, si.Status.CredentialAge = nil, nil, ""
	if si.Spec.Credentials != nil && si.Spec.Credentials.SecretName != "" {
		info, known := preq.Secrets[si.Spec.Credentials.SecretName]
		if !known {
			// The operator may not read Secrets in this namespace.
			si.Status.CredentialAge = "unknown"
		} else {
			si.Status.CredentialsFound = ptr.To(info.Exists)
		}
		if known && info.Exists {
			at := info.CreatedAt
			if !info.RotatedAt.IsZero() {
				at = info.RotatedAt
			}
			mt := metav1.NewTime(at)
			si.Status.CredentialRotatedAt = &mt
			si.Status.CredentialAge = now.Sub(at).Truncate(time.Hour).String()
		}
	}
	var users v1alpha1.MarketingWorkloadList
	if err := r.List(ctx, &users, client.InNamespace(si.Namespace), client.MatchingFields{indexIntegrationNames: si.Name}); err != nil {
		return status.Fail(ReasonResolveFailed, err)
	}
	si.Status.UsedBy = nil
	for i := range users.Items {
		if len(si.Status.UsedBy) < 64 {
			si.Status.UsedBy = append(si.Status.UsedBy, users.Items[i].Name)
		}
	}

	decision, err := r.Engine.Evaluate(ctx, preq)
	if err != nil {
		return status.Fail(ReasonEvalFailed, err)
	}
	status.Record(si, decision)
	for _, w := range decision.Warnings() {
		if w.Policy == "credential-age" {
			r.Recorder.Event(si, corev1.EventTypeWarning, EventCredentialStale, eventMessage(w.Message))
		}
	}
	status.Set(si, judged(decision, status.Outcome{Ready: true, Reason: ReasonCompliant, Message: fmt.Sprintf("vendor %s is %s", si.Spec.Vendor, si.Status.VendorStatus)}))
	return nil
}

// SetupWithManager watches integrations and what they depend on.
func (r *SaaSIntegrationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SaaSIntegration{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&v1alpha1.Vendor{}, handler.EnqueueRequestsFromMapFunc(r.forVendor), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// vendor-overlap counts the integrations of each vendor of a
		// category: one coming, going or changing vendor re-judges the
		// integrations of that category.
		Watches(&v1alpha1.SaaSIntegration{}, handler.EnqueueRequestsFromMapFunc(r.forCategoryPeers), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.MarketingWorkload{}, handler.EnqueueRequestsFromMapFunc(r.forWorkload), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PlatformStandard{}, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.SaaSIntegrationList](r.Client)), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.SaaSIntegrationList](r.Client)))).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(r.forException)).
		Named("saasintegration").
		Complete(requeueConflicts(r))
}

func (r *SaaSIntegrationReconciler) forVendor(ctx context.Context, o client.Object) []ctrl.Request {
	var list v1alpha1.SaaSIntegrationList
	if err := r.List(ctx, &list, client.MatchingFields{indexVendor: o.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "listing integrations of vendor", "vendor", o.GetName())
		return nil
	}
	return requestsOf(list.Items)
}

// forCategoryPeers maps an integration to every integration whose vendor
// has the same category as its vendor (vendor-overlap), the catalogue read
// from the cache.
func (r *SaaSIntegrationReconciler) forCategoryPeers(ctx context.Context, o client.Object) []ctrl.Request {
	si, ok := o.(*v1alpha1.SaaSIntegration)
	if !ok {
		return nil
	}
	var vendor v1alpha1.Vendor
	if err := r.Get(ctx, client.ObjectKey{Name: si.Spec.Vendor}, &vendor); err != nil {
		return nil // no vendor, no category: no peers
	}
	var vendors v1alpha1.VendorList
	if err := r.List(ctx, &vendors); err != nil {
		logf.FromContext(ctx).Error(err, "listing vendors for the integrations of a category")
		return nil
	}
	var out []ctrl.Request
	for i := range vendors.Items {
		v := &vendors.Items[i]
		if v.Spec.Category != vendor.Spec.Category || v.Name == si.Spec.Vendor {
			continue
		}
		var list v1alpha1.SaaSIntegrationList
		if err := r.List(ctx, &list, client.MatchingFields{indexVendor: v.Name}); err != nil {
			logf.FromContext(ctx).Error(err, "listing integrations of vendor", "vendor", v.Name)
			return nil
		}
		out = append(out, requestsOf(list.Items)...)
	}
	return out
}

func (r *SaaSIntegrationReconciler) forWorkload(_ context.Context, o client.Object) []ctrl.Request {
	mw, ok := o.(*v1alpha1.MarketingWorkload)
	if !ok {
		return nil
	}
	out := make([]ctrl.Request, 0, len(mw.Spec.Integrations))
	for _, ref := range mw.Spec.Integrations {
		out = append(out, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: mw.Namespace, Name: ref.Name}})
	}
	return out
}

func (r *SaaSIntegrationReconciler) forException(_ context.Context, o client.Object) []ctrl.Request {
	pex, ok := o.(*v1alpha1.PolicyException)
	if !ok {
		return nil
	}
	var out []ctrl.Request
	for _, t := range pex.Spec.Targets {
		if t.Kind == v1alpha1.KindSaaSIntegration {
			out = append(out, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: pex.Namespace, Name: t.Name}})
		}
	}
	return out
}
