// Package audit is the background audit, the fourth door on the one policy
// engine: in the leader, it judges again every object of the six kinds
// (and, for unmanaged-workload, the Deployments, Services and Ingresses of
// managed namespaces) with the same Engine.Evaluate call and the same
// request the reconcilers and webhooks build (internal/resolve), asks the
// reconciler of each object whose status records another verdict to judge
// it again (status.Rejudge: the reconcilers alone write status), writes one report
// per namespace and one for the cluster (openreports.io/v1alpha1 Report and
// ClusterReport, or wgpolicyk8s.io/v1alpha2 PolicyReport and
// ClusterPolicyReport) when their content changed, and exports
// guardrails_violations and the audit's own metrics.
//
// A pass is made of scopes: a namespace, or "" for the cluster-scoped
// objects. The audit passes again over
//   - the scopes a change can affect, within a second of the change:
//     an object's namespace when it changes; every scope when a
//     GuardrailPolicy or PlatformStandard changes; the cluster and the
//     namespaces of its integrations when a Vendor does; a namespace when
//     its labels change;
//   - a scope at the first instant its verdicts may change with time alone
//     (policy.NextChange: an exception expires, a DPA or security review
//     ends, a credential grows older than the standard allows), by a timer
//     on that instant, never by polling;
//   - every scope every Interval (0: never), re-reading the reports from
//     the API server in case someone edited them.
//
// It reads the manager's informer cache with client.UnsafeDisableDeepCopy:
// a pass holds shallow copies of the listed structs, never a second copy
// of the objects, and treats them as read only.
package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// +kubebuilder:rbac:groups=openreports.io,resources=reports;clusterreports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=wgpolicyk8s.io,resources=policyreports;clusterpolicyreports,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Defaults of the flags.
const (
	DefaultInterval = 10 * time.Minute
	// DefaultDebounce is how long the audit waits after a change for more
	// changes before it passes: a sync of many objects costs one pass.
	DefaultDebounce = 250 * time.Millisecond
)

// Options configure an Auditor.
type Options struct {
	// Engine decides, the engine every door uses.
	Engine *policy.Engine
	// Policies loads the engine's GuardrailPolicies; the audit waits for
	// its first load and passes again after every load.
	Policies *policyset.Loader
	// Clock gives input.now and the timers of time-bound verdicts; the real
	// clock when nil.
	Clock clock.WithTicker
	// Interval between passes over everything (DefaultInterval when zero;
	// negative: none).
	Interval time.Duration
	// Workers evaluate objects at once (GOMAXPROCS when zero).
	Workers int
	// ReportAPI is ReportAPIOpenReports (default), ReportAPIWGPolicy or
	// ReportAPINone.
	ReportAPI string
	// MaxResults bounds the results kept per report (DefaultMaxResults
	// when zero); the summary counts them all.
	MaxResults int
	// Debounce is DefaultDebounce when zero.
	Debounce time.Duration
	// Registerer receives the audit's metrics.
	Registerer prometheus.Registerer
	// Rejudge reaches the reconcilers (pass the one given to
	// controllers.SetupAll): the audit asks them to judge again an object
	// whose status records another verdict. Nil: nobody is asked.
	Rejudge *status.Rejudge
}

// Auditor is the background audit; add it to a manager with
// SetupWithManager. It runs in the leader only.
type Auditor struct {
	opts    Options
	engine  *policy.Engine
	clock   clock.WithTicker
	metrics *metrics
	kinds   reportKinds

	cache  cache.Cache
	client client.Client
	// api reads what the manager does not cache: the raw Deployments,
	// Services and Ingresses of managed namespaces (unmanagedCandidates).
	api    client.Reader
	mapper meta.RESTMapper
	writer *writer
	log    logr.Logger

	mu        sync.Mutex
	dirty     map[string]bool // scopes to pass over
	all       bool            // every scope
	kick      chan struct{}
	deadlines map[string]time.Time // scope → next time-bound change
	violation map[string]map[violationKey]int
	reportsOn *bool // nil until first known
	passes    []chan Stats
}

// Stats say what one pass did.
type Stats struct {
	Scopes, Objects int
	Duration        time.Duration
	ReportWrites    int
	// Rejudged counts the objects whose reconcilers were asked to judge
	// them again (their status recorded another verdict); the audit writes
	// no status itself.
	Rejudged   int
	ReportsOff bool
	End        time.Time
}

// New returns an auditor; SetupWithManager adds it to a manager.
func New(opts Options) (*Auditor, error) {
	if opts.Engine == nil {
		return nil, errors.New("audit: Options.Engine is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxResults == 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	kinds, err := kindsOf(opts.ReportAPI)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Auditor{
		opts: opts, engine: opts.Engine, clock: opts.Clock, metrics: m, kinds: kinds,
		dirty: map[string]bool{}, kick: make(chan struct{}, 1),
		deadlines: map[string]time.Time{}, violation: map[string]map[violationKey]int{},
		log: ctrl.Log.WithName("audit"),
	}, nil
}

// SetupWithManager adds the auditor to mgr (leader only).
func (a *Auditor) SetupWithManager(mgr ctrl.Manager) error {
	a.Bind(mgr)
	return mgr.Add(a)
}

// Bind gives the auditor the manager's cache and clients without adding it
// to the manager, so that Pass may be called directly (benchmarks).
func (a *Auditor) Bind(mgr ctrl.Manager) {
	a.cache = mgr.GetCache()
	a.client = mgr.GetClient()
	a.api = mgr.GetAPIReader()
	a.mapper = mgr.GetRESTMapper()
	if a.kinds.gv.Group != "" {
		a.writer = &writer{kinds: a.kinds, client: mgr.GetClient(), reader: mgr.GetAPIReader(), metrics: a.metrics, known: map[string]string{}}
	}
}

// NeedLeaderElection is true: one auditor writes reports.
func (a *Auditor) NeedLeaderElection() bool { return true }

// Passes returns a channel that receives the Stats of every pass that
// follows the call (tests and benchmarks wait on it). Passes do not wait
// for a reader: a full channel drops the figures.
func (a *Auditor) Passes() <-chan Stats {
	ch := make(chan Stats, 64)
	a.mu.Lock()
	a.passes = append(a.passes, ch)
	a.mu.Unlock()
	return ch
}

// Start passes over everything, then again on every change, at every
// time-bound instant and every Interval, until ctx ends.
func (a *Auditor) Start(ctx context.Context) error {
	a.log = logf.FromContext(ctx).WithName("audit")
	if a.opts.Policies != nil {
		select {
		case <-a.opts.Policies.Synced():
		case <-ctx.Done():
			return nil
		}
	}
	var changes <-chan struct{}
	if a.opts.Policies != nil {
		changes = forward(ctx, a.opts.Policies)
	}
	if err := a.watch(ctx); err != nil {
		return err
	}
	if !a.cache.WaitForCacheSync(ctx) {
		return nil
	}
	a.markAll()
	var tick <-chan time.Time
	if a.opts.Interval > 0 {
		t := a.clock.NewTicker(a.opts.Interval)
		defer t.Stop()
		tick = t.C()
	}
	for {
		var due <-chan time.Time
		var timer clock.Timer
		if next, ok := a.nextDeadline(); ok {
			timer = a.clock.NewTimer(next.Sub(a.clock.Now()))
			due = timer.C()
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-a.kick:
		case <-changes:
			a.markAll()
		case <-tick:
			if a.writer != nil {
				a.writer.forget()
			}
			a.markAll()
		case <-due:
			a.markDue()
		}
		if timer != nil {
			timer.Stop()
		}
		// Let a burst of changes (a GitOps sync) gather into one pass.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.opts.Debounce):
		}
		scopes, all := a.takeDirty()
		if !all && len(scopes) == 0 {
			continue
		}
		if _, err := a.Pass(ctx, scopes, all); err != nil && ctx.Err() == nil {
			a.log.Error(err, "audit pass failed; the next change or interval passes again")
		}
	}
}

// forward turns the loader's change events into a kick.
func forward(ctx context.Context, l *policyset.Loader) <-chan struct{} {
	in := l.Changes()
	out := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-in:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

// Resync asks for a pass over everything, as the interval does, without
// forgetting what the reports hold.
func (a *Auditor) Resync() { a.markAll() }

func (a *Auditor) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *Auditor) mark(scopes ...string) {
	a.mu.Lock()
	for _, s := range scopes {
		a.dirty[s] = true
	}
	a.mu.Unlock()
	a.poke()
}

func (a *Auditor) markAll() {
	a.mu.Lock()
	a.all = true
	a.mu.Unlock()
	a.poke()
}

func (a *Auditor) markDue() {
	now := a.clock.Now()
	a.mu.Lock()
	for s, t := range a.deadlines {
		if !t.After(now) {
			a.dirty[s] = true
			delete(a.deadlines, s)
		}
	}
	a.mu.Unlock()
	a.poke()
}

func (a *Auditor) takeDirty() ([]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	scopes, all := slices.Sorted(maps.Keys(a.dirty)), a.all
	a.dirty, a.all = map[string]bool{}, false
	return scopes, all
}

func (a *Auditor) nextDeadline() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next time.Time
	for _, t := range a.deadlines {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next, !next.IsZero()
}

// watch registers the event handlers that mark scopes dirty.
func (a *Auditor) watch(ctx context.Context) error {
	type watched struct {
		obj   client.Object
		scope func(client.Object) (scopes []string, all bool)
	}
	own := func(o client.Object) ([]string, bool) { return []string{o.GetNamespace()}, false }
	everything := func(client.Object) ([]string, bool) { return nil, true }
	for _, w := range []watched{
		{&v1alpha1.MarketingWorkload{}, own},
		{&v1alpha1.SaaSIntegration{}, own},
		{&v1alpha1.GuardrailPolicy{}, own}, // the set in force reaches us through Policies
		{&v1alpha1.PlatformStandard{}, everything},
		{&v1alpha1.Vendor{}, func(o client.Object) ([]string, bool) { return a.vendorScopes(ctx, o.GetName()), false }},
		{&v1alpha1.PolicyException{}, exceptionScopes},
		{&corev1.Namespace{}, func(o client.Object) ([]string, bool) { return []string{o.GetName()}, false }},
		// No watch of Deployments, Services and Ingresses: the manager
		// caches only its own children (controllers.CacheOptions), so raw
		// ones are read by a paged metadata list when their namespace is
		// passed over (unmanagedCandidates); the guard stops new ones.
	} {
		inf, err := a.cache.GetInformer(ctx, w.obj)
		if err != nil {
			return fmt.Errorf("audit: watching %T: %w", w.obj, err)
		}
		scope := w.scope
		on := func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			obj, ok := o.(client.Object)
			if !ok {
				return
			}
			scopes, all := scope(obj)
			if all {
				a.markAll()
				return
			}
			a.mark(scopes...)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: on,
			UpdateFunc: func(oldObj, newObj any) {
				o, okO := oldObj.(client.Object)
				n, okN := newObj.(client.Object)
				if okO && okN && !changed(o, n) {
					return // a status write (the audit's own among them)
				}
				on(newObj)
			},
			DeleteFunc: on,
		}); err != nil {
			return fmt.Errorf("audit: watching %T: %w", w.obj, err)
		}
	}
	return nil
}

// changed reports an update that can change a verdict: the spec (the
// generation), the labels (of a namespace), the owner references (of a
// Deployment, Service or Ingress).
func changed(o, n client.Object) bool {
	if o.GetGeneration() != n.GetGeneration() {
		return true
	}
	if _, ns := n.(*corev1.Namespace); ns {
		return !maps.Equal(o.GetLabels(), n.GetLabels())
	}
	return !equality.Semantic.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences())
}

// exceptionScopes: the exception's namespace (its own verdict and its
// namespaced targets), and the cluster when it names cluster-scoped kinds.
func exceptionScopes(o client.Object) ([]string, bool) {
	scopes := []string{o.GetNamespace()}
	if pex, ok := o.(*v1alpha1.PolicyException); ok {
		for _, t := range pex.Spec.Targets {
			if ns, _ := v1alpha1.Namespaced(string(t.Kind)); !ns {
				scopes = append(scopes, "")
				break
			}
		}
	}
	return scopes, false
}

// vendorScopes: the cluster (the Vendor itself) and the namespaces of the
// integrations that use it (and so of the workloads that use those).
func (a *Auditor) vendorScopes(ctx context.Context, vendor string) []string {
	scopes := []string{""}
	var list v1alpha1.SaaSIntegrationList
	if err := a.cache.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		a.log.Error(err, "listing the integrations of a vendor")
		return scopes
	}
	seen := map[string]bool{}
	for i := range list.Items {
		if si := &list.Items[i]; si.Spec.Vendor == vendor && !seen[si.Namespace] {
			seen[si.Namespace] = true
			scopes = append(scopes, si.Namespace)
		}
	}
	return scopes
}
