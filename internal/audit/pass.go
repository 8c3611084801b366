package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// noCopy lists from the informer cache without deep copies: the items are
// shallow copies of the cached structs, read only.
var noCopy = client.UnsafeDisableDeepCopy

// job is one object to judge.
type job struct {
	scope string
	obj   client.Object
	kind  string
}

// verdict is a job's outcome.
type verdict struct {
	decision *policy.Decision
	next     time.Time
	asked    bool // its reconciler was asked to judge it again
	err      error
}

// Pass judges the objects of the given scopes (every scope when all) and
// records the verdicts: reports whose content changed,
// guardrails_violations, and a request to judge again to the reconciler
// of each object whose status records another verdict. Start calls it; so may a benchmark, on an
// auditor given a manager with Bind.
func (a *Auditor) Pass(ctx context.Context, scopes []string, all bool) (Stats, error) {
	start := time.Now()
	now := a.clock.Now()
	snap, of, err := a.snapshot(ctx, scopes, all)
	if err != nil {
		return Stats{}, err
	}
	want := map[string]bool{}
	for _, s := range scopes {
		want[s] = true
	}
	in := func(s string) bool { return all || want[s] }

	// What to judge, by scope.
	var jobs []job
	add := func(scope, kind string, obj client.Object) {
		if in(scope) {
			jobs = append(jobs, job{scope: scope, obj: obj, kind: kind})
		}
	}
	for i := range of.Standards {
		add("", v1alpha1.KindPlatformStandard, &of.Standards[i])
	}
	for i := range of.Vendors {
		add("", v1alpha1.KindVendor, &of.Vendors[i])
	}
	for i := range of.policies {
		add("", v1alpha1.KindGuardrailPolicy, &of.policies[i])
	}
	for i := range of.Exceptions {
		add(of.Exceptions[i].Namespace, v1alpha1.KindPolicyException, &of.Exceptions[i])
	}
	for i := range of.Integrations {
		add(of.Integrations[i].Namespace, v1alpha1.KindSaaSIntegration, &of.Integrations[i])
	}
	for i := range of.Workloads {
		add(of.Workloads[i].Namespace, v1alpha1.KindMarketingWorkload, &of.Workloads[i])
	}
	shadow, err := a.unmanagedCandidates(ctx, snap, of.Namespaces, in)
	if err != nil {
		return Stats{}, err
	}
	jobs = append(jobs, shadow...)

	verdicts := a.judge(ctx, snap, jobs, now)
	if ctx.Err() != nil {
		return Stats{}, ctx.Err()
	}

	// Reports, metrics and deadlines, by scope.
	byScope := map[string][]judged{}
	next := map[string]time.Time{}
	var errs []error
	stats := Stats{Objects: len(jobs)}
	for i, v := range verdicts {
		j := jobs[i]
		if v.err != nil {
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", j.kind, j.obj.GetNamespace(), j.obj.GetName(), v.err))
			continue
		}
		if v.asked {
			stats.Rejudged++
		}
		byScope[j.scope] = append(byScope[j.scope], judged{ref: reference(j.kind, j.obj), decision: v.decision})
		if t := v.next; !t.IsZero() {
			if cur, ok := next[j.scope]; !ok || t.Before(cur) {
				next[j.scope] = t
			}
		}
	}
	reportsOn, err := a.reportsEnabled()
	if err != nil {
		errs = append(errs, err)
	}
	stats.ReportsOff = !reportsOn
	var touched []string
	if all {
		touched, err = a.storedReports(ctx, reportsOn)
		if err != nil {
			errs = append(errs, err)
		}
		for s := range byScope {
			touched = append(touched, s)
		}
		touched = append(touched, "") // the cluster report, even when empty
	} else {
		touched = scopes
	}
	slices.Sort(touched)
	touched = slices.Compact(touched)
	a.mu.Lock()
	for _, s := range touched {
		delete(a.deadlines, s)
		if t, ok := next[s]; ok {
			a.deadlines[s] = t
		}
		a.violation[s] = counts(s, byScope[s])
	}
	if all {
		for s := range a.violation {
			if !slices.Contains(touched, s) {
				delete(a.violation, s)
			}
		}
	}
	countsNow := make(map[string]map[violationKey]int, len(a.violation))
	for s, c := range a.violation {
		countsNow[s] = c
	}
	a.mu.Unlock()
	if reportsOn {
		for _, s := range touched {
			objs := byScope[s]
			var wrote bool
			var err error
			if len(objs) == 0 && s != "" {
				wrote, err = a.writer.remove(ctx, s)
			} else {
				wrote, err = a.writer.write(ctx, s, buildContent(objs, a.opts.MaxResults, now))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("writing the report of %q: %w", scopeName(s), err))
			}
			if wrote {
				stats.ReportWrites++
			}
		}
	}
	stats.Scopes = len(touched)
	stats.Duration = time.Since(start)
	stats.End = a.clock.Now()
	a.metrics.pass(stats.Duration, stats.End, countsNow)
	a.publish(stats)
	a.log.V(1).Info("audit pass", "scopes", stats.Scopes, "objects", stats.Objects, "took", stats.Duration.String(), "reportWrites", stats.ReportWrites, "rejudged", stats.Rejudged)
	return stats, errors.Join(errs...)
}

func scopeName(s string) string {
	if s == "" {
		return "the cluster"
	}
	return "namespace " + s
}

func (a *Auditor) publish(s Stats) {
	a.mu.Lock()
	subs := a.passes
	a.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- s:
		default:
		}
	}
}

// reportsEnabled checks, once per pass, that the report CRDs are served,
// and says so in the log when that changes, and in
// guardrails_audit_reports_enabled.
func (a *Auditor) reportsEnabled() (bool, error) {
	on := false
	var err error
	if a.writer != nil {
		on, err = a.writer.installed(a.mapper)
	}
	a.mu.Lock()
	was := a.reportsOn
	a.reportsOn = &on
	a.mu.Unlock()
	if was == nil || *was != on {
		a.metrics.reports(on)
		switch {
		case a.writer == nil:
			a.log.Info("reports are off (--report-api=none): statuses and metrics only")
		case !on:
			a.log.Info("reports are off: the report CRDs are not installed; statuses and metrics only (install config/reports)", "api", a.kinds.gv.String(), "kinds", []string{a.kinds.namespaced, a.kinds.global})
		default:
			a.log.Info("writing reports", "api", a.kinds.gv.String())
		}
	}
	return on, err
}

// storedReports returns the scopes of the reports the audit wrote before,
// as the API server has them (a full pass removes those of empty scopes).
func (a *Auditor) storedReports(ctx context.Context, on bool) ([]string, error) {
	if !on {
		return nil, nil
	}
	var scopes []string
	for _, kind := range []string{a.kinds.namespaced + "List", a.kinds.global + "List"} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(a.kinds.gv.WithKind(kind))
		if err := a.writer.reader.List(ctx, list, client.MatchingLabels{LabelManagedBy: Source}); err != nil {
			return nil, fmt.Errorf("listing the reports: %w", err)
		}
		for _, r := range list.Items {
			if r.GetName() == ReportName {
				scopes = append(scopes, r.GetNamespace())
			}
		}
	}
	return scopes, nil
}

// counts are a scope's results in force for guardrails_violations.
func counts(scope string, objs []judged) map[violationKey]int {
	out := map[violationKey]int{}
	for _, o := range objs {
		for i := range o.decision.Results {
			r := &o.decision.Results[i]
			if !r.Waived() {
				out[violationKey{scope, policy.OfResult(r.Policy), r.Severity, r.Enforcement}]++
			}
		}
	}
	return out
}

// listed is what a pass lists from the cache.
type listed struct {
	resolve.SnapshotOf
	policies []v1alpha1.GuardrailPolicy
}

// snapshot lists the world of a pass from the cache: the catalogue always,
// the namespaced objects of the scopes (all of them on a full pass).
func (a *Auditor) snapshot(ctx context.Context, scopes []string, all bool) (*resolve.Snapshot, *listed, error) {
	of := &listed{}
	var (
		nss  corev1.NamespaceList
		stds v1alpha1.PlatformStandardList
		vs   v1alpha1.VendorList
		pexs v1alpha1.PolicyExceptionList
		gps  v1alpha1.GuardrailPolicyList
	)
	for _, l := range []client.ObjectList{&nss, &stds, &vs, &pexs, &gps} {
		if err := a.cache.List(ctx, l, noCopy); err != nil {
			return nil, nil, fmt.Errorf("audit: listing %T: %w", l, err)
		}
	}
	of.Namespaces, of.Standards, of.Vendors, of.Exceptions, of.policies = nss.Items, stds.Items, vs.Items, pexs.Items, gps.Items
	namespaces := []string{""} // all
	if !all {
		namespaces = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "" })
	}
	for _, ns := range namespaces {
		var sis v1alpha1.SaaSIntegrationList
		var mws v1alpha1.MarketingWorkloadList
		if err := a.cache.List(ctx, &sis, noCopy, client.InNamespace(ns)); err != nil {
			return nil, nil, fmt.Errorf("audit: listing SaaSIntegrations: %w", err)
		}
		if err := a.cache.List(ctx, &mws, noCopy, client.InNamespace(ns)); err != nil {
			return nil, nil, fmt.Errorf("audit: listing MarketingWorkloads: %w", err)
		}
		of.Integrations = append(of.Integrations, sis.Items...)
		of.Workloads = append(of.Workloads, mws.Items...)
	}
	of.ReadsInventory = a.engine.ReadsInventory
	return resolve.NewSnapshot(a.cache, of.SnapshotOf), of, nil
}

// unmanagedCandidates are the Deployments, Services and Ingresses of the
// managed namespaces in the pass (policy.Managed, the rule the engine
// applies): elsewhere unmanaged-workload does not apply.
func (a *Auditor) unmanagedCandidates(ctx context.Context, snap *resolve.Snapshot, nss []corev1.Namespace, in func(string) bool) ([]job, error) {
	var out []job
	for i := range nss {
		ns := &nss[i]
		if !in(ns.Name) {
			continue
		}
		std, _ := snap.Standard(ctx, ns.Labels)
		if !policy.Managed(std, ns.Labels) {
			continue
		}
		for _, kind := range []string{policy.KindDeployment, policy.KindService, policy.KindIngress} {
			objs, err := a.metadataOf(ctx, kind, ns.Name)
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				out = append(out, job{scope: ns.Name, obj: o, kind: kind})
			}
		}
	}
	return out, nil
}

// metadataPage is the page size of metadataOf's list calls.
const metadataPage = 500

// metadataOf lists the metadata of the objects of kind (one of
// policy.UnmanagedKinds) in namespace from the API server, a page at a
// time: the manager's cache holds only the children it renders, and
// unmanaged-workload reads only metadata (owner references, name).
func (a *Auditor) metadataOf(ctx context.Context, kind, namespace string) ([]client.Object, error) {
	gvk := schema.FromAPIVersionAndKind(policy.UnmanagedKinds[kind], kind)
	var out []client.Object
	cont := ""
	for {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(kind + "List"))
		if err := a.api.List(ctx, list, client.InNamespace(namespace), client.Limit(metadataPage), client.Continue(cont)); err != nil {
			return nil, fmt.Errorf("audit: listing %s in %s: %w", kind, namespace, err)
		}
		for i := range list.Items {
			o := &list.Items[i]
			o.SetGroupVersionKind(gvk)
			out = append(out, o)
		}
		if cont = list.GetContinue(); cont == "" {
			return out, nil
		}
	}
}

// judge evaluates the jobs on Workers goroutines, and asks the reconciler
// of each object whose status records another verdict to judge it again.
func (a *Auditor) judge(ctx context.Context, snap *resolve.Snapshot, jobs []job, now time.Time) []verdict {
	out := make([]verdict, len(jobs))
	memo := policy.NewMemo()
	idx := make(chan int)
	var wg sync.WaitGroup
	for range min(a.opts.Workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				out[i] = a.judgeOne(ctx, snap, memo, jobs[i], now)
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case idx <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(idx)
	wg.Wait()
	return out
}

func (a *Auditor) judgeOne(ctx context.Context, snap *resolve.Snapshot, memo *policy.Memo, j job, now time.Time) verdict {
	req, err := snap.Request(ctx, j.obj, policy.OperationAudit, now)
	if err != nil {
		return verdict{err: err}
	}
	req.Memo = memo
	d, err := a.engine.Evaluate(ctx, req)
	if err != nil {
		return verdict{err: err}
	}
	v := verdict{decision: d, next: policy.NextChange(&req, now)}
	v.asked, v.err = a.rejudge(ctx, j.obj, d)
	if v.err != nil {
		v.err = fmt.Errorf("asking its reconciler to judge it again: %w", v.err)
	}
	return v
}

// reference names an object in a report result.
func reference(kind string, obj client.Object) corev1.ObjectReference {
	apiVersion := v1alpha1.GroupVersion.String()
	if v, ok := policy.UnmanagedKinds[kind]; ok {
		apiVersion = v
	}
	return corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID()}
}

// rejudge asks the reconciler of one of our objects to judge it again when
// its status records another verdict than the pass's (what changed with
// time or policy alone), once the reconciler has judged its current
// generation: before that, it is about to judge it anyway. The status has
// one writer, the reconciler (internal/status).
func (a *Auditor) rejudge(ctx context.Context, obj client.Object, d *policy.Decision) (bool, error) {
	o, ours := obj.(v1alpha1.Object)
	if !ours || o.GetCommonStatus().ObservedGeneration != o.GetGeneration() || status.Records(o, d) {
		return false, nil
	}
	asked, err := a.opts.Rejudge.Ask(ctx, o)
	if asked {
		a.metrics.rejudged()
	}
	return asked, err
}
