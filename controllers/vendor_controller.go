package controllers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// EventDeadlineApproaching is emitted once per vendor deadline and window
// when the deadline enters the standard's portfolio.renewalWarningDays.
const EventDeadlineApproaching = "DeadlineApproaching"

// maxVendorUsers bounds status.teams and status.costCenters.
const maxVendorUsers = 64

// VendorReconciler records a vendor's validity (policies targeting Vendor,
// DPA and security review dates), who uses it (integrations, teams, cost
// centres), its deadlines (status.noticeBy, status.nextDeadline) and when
// it was last used (status.lastUsedAt). It requeues at the next instant a
// deadline enters its window or passes, or the vendor becomes unused
// (policy.NextVendorChange), never polling, and announces each deadline
// entering its window once with a DeadlineApproaching event. Its
// dependents are re-reconciled by their own controllers' vendor watches.
type VendorReconciler struct {
	client.Client
	// Catalogues is the vendor catalogue converted once between two
	// changes of a Vendor, shared with the webhooks (the policy-set
	// loader's); nil: listed and converted for every request.
	Catalogues *resolve.Catalogues
	Engine     *policy.Engine
	Clock      clock.PassiveClock
	Recorder   record.EventRecorder
	// PolicyChanges fires after the engine's GuardrailPolicies changed.
	PolicyChanges <-chan event.GenericEvent
	// Rejudge names the objects the audit found stale (status.Rejudge).
	Rejudge <-chan event.GenericEvent
}

// Reconcile evaluates the vendor and writes its status.
func (r *VendorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, err error) {
	var v v1alpha1.Vendor
	if err := r.Get(ctx, req.NamespacedName, &v); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	now := r.Clock.Now()
	var announce []v1alpha1.AnnouncedDeadline
	st := status.NewHelper(r.Client, &v)
	defer func() {
		// After the status that records them is stored: each once.
		if res, err = patched(ctx, st, &v, res, err); err == nil {
			for _, a := range announce {
				r.Recorder.Eventf(&v, corev1.EventTypeWarning, EventDeadlineApproaching, "%s", eventMessage(announcement(&v, a, now)))
			}
		}
	}()
	var users v1alpha1.SaaSIntegrationList
	if err := r.List(ctx, &users, client.MatchingFields{indexVendor: v.Name}); err != nil {
		return ctrl.Result{}, status.Fail(ReasonResolveFailed, err)
	}
	recordUsers(&v, users.Items, now)
	preq, err := resolve.Resolver{Reader: r.Client, Catalogues: r.Catalogues}.Request(ctx, &v, policy.OperationAudit, now)
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonResolveFailed, err)
	}
	d, err := r.Engine.Evaluate(ctx, preq)
	if err != nil {
		return ctrl.Result{}, status.Fail(ReasonEvalFailed, err)
	}
	status.Record(&v, d)
	recordDeadlines(&v, now)
	announce = dueAnnouncements(&v, policy.Portfolio(preq.Standard), now)
	msg := fmt.Sprintf("%s vendor used by %s", v.Spec.Status, plural(int(v.Status.Integrations), "integration"))
	if notes := vendorNotes(&v, now); len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	status.Set(&v, judged(d, status.Outcome{Ready: true, Reason: ReasonValid, Message: msg}))
	if next := policy.NextChange(&preq, now); !next.IsZero() {
		res.RequeueAfter = next.Sub(now)
	}
	return res, nil
}

// recordUsers writes status.integrations, teams and costCenters from the
// SaaSIntegrations that use v, and status.lastUsedAt when the last of
// them has gone.
func recordUsers(v *v1alpha1.Vendor, users []v1alpha1.SaaSIntegration, now time.Time) {
	if len(users) == 0 && v.Status.Integrations > 0 {
		t := metav1.NewTime(now.UTC().Truncate(time.Second))
		v.Status.LastUsedAt = &t
	}
	v.Status.Integrations = int32(min(len(users), math.MaxInt32))
	var teams, costCenters []string
	for i := range users {
		if o := users[i].Spec.Owner; o != nil && o.Team != "" {
			teams = append(teams, o.Team)
		}
		if cc := users[i].Spec.CostCenter; cc != "" {
			costCenters = append(costCenters, cc)
		}
	}
	v.Status.Teams = bounded(teams)
	v.Status.CostCenters = bounded(costCenters)
}

// bounded sorts and dedupes names, keeping at most maxVendorUsers.
func bounded(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return names[:min(len(names), maxVendorUsers)]
}

// recordDeadlines writes status.noticeBy and status.nextDeadline.
func recordDeadlines(v *v1alpha1.Vendor, now time.Time) {
	v.Status.NoticeBy, v.Status.NextDeadline = nil, nil
	if at, ok := policy.NoticeBy(v); ok {
		t := metav1.NewTime(at)
		v.Status.NoticeBy = &t
	}
	if d, ok := policy.NextDeadline(v, now); ok {
		v.Status.NextDeadline = &v1alpha1.Deadline{What: d.What, At: metav1.NewTime(d.At)}
	}
}

// dueAnnouncements returns the deadlines that are within the warning
// window at now and have not been announced, and records them in
// status.announced; announcements of deadlines no longer in the vendor's
// dates are dropped.
func dueAnnouncements(v *v1alpha1.Vendor, s policy.PortfolioSettings, now time.Time) []v1alpha1.AnnouncedDeadline {
	window := int32(min(s.RenewalWarningDays, math.MaxInt32)) //nolint:gosec // min bounds it; the API's minimum is 0
	current := policy.Deadlines(v)
	kept := slices.DeleteFunc(slices.Clone(v.Status.Announced), func(a v1alpha1.AnnouncedDeadline) bool {
		return !slices.ContainsFunc(current, func(d policy.Deadline) bool {
			return d.What == a.What && d.At.Equal(a.At.Time)
		})
	})
	var due []v1alpha1.AnnouncedDeadline
	for _, d := range current {
		if !d.InWindow(s.RenewalWarningDays, now) {
			continue
		}
		a := v1alpha1.AnnouncedDeadline{Deadline: v1alpha1.Deadline{What: d.What, At: metav1.NewTime(d.At)}, WindowDays: window}
		if slices.ContainsFunc(kept, func(k v1alpha1.AnnouncedDeadline) bool {
			return k.What == a.What && k.At.Equal(&a.At) && k.WindowDays == a.WindowDays
		}) {
			continue
		}
		due = append(due, a)
		kept = append(kept, a)
	}
	if len(kept) > 8 {
		kept = kept[len(kept)-8:]
	}
	if len(kept) == 0 {
		kept = nil
	}
	v.Status.Announced = kept
	return due
}

// deadlineNames are what each deadline is, in words.
var deadlineNames = map[string]string{
	policy.DeadlineNotice:         "the contract's notice deadline",
	policy.DeadlineRenewal:        "the contract's renewal",
	policy.DeadlineDPA:            "the DPA's expiry",
	policy.DeadlineSecurityReview: "the security review's expiry",
}

// announcement is the message of a DeadlineApproaching event.
func announcement(v *v1alpha1.Vendor, a v1alpha1.AnnouncedDeadline, now time.Time) string {
	days := int(a.At.Sub(now.Truncate(time.Second)) / policy.Day)
	msg := fmt.Sprintf("%s is %s, in %s (window %d days)", deadlineNames[a.What], a.At.UTC().Format(time.DateOnly), plural(days, "day"), a.WindowDays)
	if a.What == policy.DeadlineNotice && v.Spec.Contract != nil && v.Spec.Contract.AutoRenew {
		msg += ": the contract renews automatically unless notice is given"
	}
	if o := v.Spec.Owner; o != nil && o.Team != "" {
		msg += "; owner " + o.Team
	}
	return msg
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

// SetupWithManager watches vendors and the integrations that use them (on
// a change of vendor, both the old and the new one).
func (r *VendorReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Vendor{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SaaSIntegration{}, vendorsOfIntegrations{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PlatformStandard{}, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.VendorList](r.Client)), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.PolicyException{}, handler.EnqueueRequestsFromMapFunc(exceptionTargets(v1alpha1.KindVendor))).
		WatchesRawSource(source.Channel(r.PolicyChanges, handler.EnqueueRequestsFromMapFunc(listAll[v1alpha1.VendorList](r.Client)))).
		WatchesRawSource(source.Channel(r.Rejudge, &handler.EnqueueRequestForObject{})).
		Named("vendor").
		Complete(requeueConflicts(r))
}

// vendorsOfIntegrations enqueues the vendor of an integration, and on an
// update the vendor it named before too (its count dropped).
type vendorsOfIntegrations struct{}

func (vendorsOfIntegrations) add(q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
	for _, o := range objs {
		if si, ok := o.(*v1alpha1.SaaSIntegration); ok && si.Spec.Vendor != "" {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: si.Spec.Vendor}})
		}
	}
}

func (h vendorsOfIntegrations) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(q, e.Object)
}

func (h vendorsOfIntegrations) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(q, e.ObjectOld, e.ObjectNew)
}

func (h vendorsOfIntegrations) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(q, e.Object)
}

func (h vendorsOfIntegrations) Generic(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.add(q, e.Object)
}
