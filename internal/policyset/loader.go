// Package policyset keeps the policy engine's custom policies equal to the
// cluster's GuardrailPolicies, and its Gatekeeper templates and constraints
// equal to the cluster's where Gatekeeper's CRDs are served (gatekeeper.go).
// It is the one owner of Engine.SetPolicies and Engine.SetGatekeeper in the
// manager: the admission webhooks (served by every replica) wait for its
// first load, and the GuardrailPolicy reconciler (leader only) reports what
// it loaded instead of compiling again.
package policyset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// ErrNotSynced says the GuardrailPolicies are not loaded yet.
var ErrNotSynced = errors.New("the GuardrailPolicies are not loaded yet; retry in a few seconds")

// Loader loads every GuardrailPolicy into an engine at start and again on
// every spec change. It runs on every replica (NeedLeaderElection is false).
type Loader struct {
	engine *policy.Engine
	cache  cache.Cache
	mapper meta.RESTMapper
	warm   []client.Object
	gk     GatekeeperOptions
	// catalogues is the vendor catalogue every door of the manager shares,
	// kept current from the Vendor informer (nil until Add).
	catalogues *resolve.Catalogues

	synced chan struct{}
	added  sync.Once
	addErr error

	mu       sync.Mutex
	subs     []chan event.GenericEvent
	loaded   map[string]int64 // generation of each policy in the last load
	gkLoaded GatekeeperLoaded
	runCtx   context.Context // Start's, once it runs
}

// New returns a loader for engine; Add registers it with a manager.
func New(engine *policy.Engine) *Loader {
	return &Loader{engine: engine, synced: make(chan struct{}), loaded: map[string]int64{}}
}

// Static returns a loader that never loads: it reports Synced at once and
// leaves the engine's policies to whoever calls SetPolicies (tools and
// tests that run the webhooks' handlers without a manager).
func Static(engine *policy.Engine) *Loader {
	l := New(engine)
	close(l.synced)
	return l
}

// Warm asks the loader to start and sync the informers of objs before it
// reports Synced, so that readers of the same cache (the webhooks) are warm
// before their first request. Objects given once the loader runs are warmed
// at once, in the background (a cached read would start their informers
// anyway; this only saves the first request the wait).
func (l *Loader) Warm(objs ...client.Object) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.runCtx == nil {
		l.warm = append(l.warm, objs...)
		return
	}
	ctx, c := l.runCtx, l.cache
	go func() {
		for _, o := range objs {
			_, _ = c.GetInformer(ctx, o)
		}
	}()
}

// GatekeeperOptions configure how the loader reads Gatekeeper's
// ConstraintTemplates and constraints (gatekeeper.go).
type GatekeeperOptions struct {
	// Disabled: never watch them; the engine holds no Gatekeeper set.
	Disabled bool
	// Recheck is how often missing Gatekeeper CRDs are looked for again;
	// DefaultGatekeeperRecheck when zero.
	Recheck time.Duration
}

// WithGatekeeper sets the Gatekeeper options (by default: watched where
// served, rechecked every DefaultGatekeeperRecheck). Call it before the
// manager starts.
func (l *Loader) WithGatekeeper(o GatekeeperOptions) *Loader {
	l.gk = o
	return l
}

// Add registers the loader with mgr, once however often it is called.
func (l *Loader) Add(mgr ctrl.Manager) error {
	l.added.Do(func() {
		l.cache = mgr.GetCache()
		l.mapper = mgr.GetRESTMapper()
		l.catalogues = resolve.NewCatalogues(l.cache)
		if err := mgr.Add(l); err != nil {
			l.addErr = fmt.Errorf("policyset: adding the loader: %w", err)
		}
	})
	return l.addErr
}

// Engine is the engine the loader owns the policies of.
func (l *Loader) Engine() *policy.Engine { return l.engine }

// Catalogues is the vendor catalogue, converted once between two changes
// of a Vendor, that the reconcilers and the webhooks share (Resolver
// .Catalogues); nil before Add and for a Static loader.
func (l *Loader) Catalogues() *resolve.Catalogues { return l.catalogues }

// Synced is closed after the first load.
func (l *Loader) Synced() <-chan struct{} { return l.synced }

// WaitSynced blocks until the first load or until ctx ends.
func (l *Loader) WaitSynced(ctx context.Context) error {
	select {
	case <-l.synced:
		return nil
	case <-ctx.Done():
		return ErrNotSynced
	}
}

// Loaded returns the generation of the named policy the engine was last
// given (whether it compiled or not), and whether it was given at all.
func (l *Loader) Loaded(name string) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g, ok := l.loaded[name]
	return g, ok
}

// Gatekeeper returns what the engine was last given of Gatekeeper's
// templates and constraints, and its report (empty before the first load,
// and where Gatekeeper's CRDs are not served).
func (l *Loader) Gatekeeper() GatekeeperLoaded {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gkLoaded
}

// Changes returns a channel that receives an event after each load that
// follows the call (a source.Channel for a controller whose objects the
// policy set judges: it reconciles once the engine holds the new set, never
// before). Events coalesce: one waiting event stands for any number of
// loads. Call it before the manager starts.
func (l *Loader) Changes() <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 1)
	l.mu.Lock()
	l.subs = append(l.subs, ch)
	l.mu.Unlock()
	return ch
}

// NeedLeaderElection is false: every replica serves webhooks.
func (l *Loader) NeedLeaderElection() bool { return false }

// Start loads the policies and the Gatekeeper set, closes Synced, and
// reloads on every spec change until ctx ends.
func (l *Loader) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("policyset")
	kick, poke := kicker()
	gkKick, gkPoke := kicker()
	gk := newGatekeeper(l.cache, l.mapper, l.engine, l.gk, gkPoke)
	inf, err := l.cache.GetInformer(ctx, &v1alpha1.GuardrailPolicy{})
	if err != nil {
		return fmt.Errorf("policyset: watching GuardrailPolicies: %w", err)
	}
	reg, err := inf.AddEventHandler(onSpecChange(poke))
	if err != nil {
		return fmt.Errorf("policyset: watching GuardrailPolicies: %w", err)
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	vinf, err := l.cache.GetInformer(ctx, &v1alpha1.Vendor{})
	if err != nil {
		return fmt.Errorf("policyset: watching Vendors: %w", err)
	}
	vreg, err := vinf.AddEventHandler(l.catalogues.Handler())
	if err != nil {
		return fmt.Errorf("policyset: watching Vendors: %w", err)
	}
	defer func() { _ = vinf.RemoveEventHandler(vreg) }()
	l.mu.Lock()
	l.runCtx = ctx
	warm := l.warm
	l.mu.Unlock()
	for _, o := range warm {
		if _, err := l.cache.GetInformer(ctx, o); err != nil {
			return fmt.Errorf("policyset: warming the cache for %T: %w", o, err)
		}
	}
	if !l.cache.WaitForCacheSync(ctx) {
		return nil // ctx ended
	}
	l.load(ctx, log)
	again := l.loadGatekeeper(ctx, log, gk)
	close(l.synced)
	recheck := time.NewTimer(gk.recheck)
	defer recheck.Stop()
	for {
		if !again {
			recheck.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
			l.load(ctx, log)
			continue
		case <-gkKick:
		case <-recheck.C:
		}
		if again = l.loadGatekeeper(ctx, log, gk); again {
			recheck.Reset(gk.recheck)
		}
	}
}

// loadGatekeeper brings the engine's Gatekeeper set up to date and tells
// the subscribers when it changed. It returns whether to look again for a
// missing CRD after gk.recheck.
func (l *Loader) loadGatekeeper(ctx context.Context, log logr.Logger, gk *gatekeeper) bool {
	again, loaded := gk.sync(ctx, log)
	if loaded != nil {
		l.mu.Lock()
		l.gkLoaded = *loaded
		l.mu.Unlock()
		l.notify()
	}
	return again
}

// onSpecChange calls poke when an object appears, goes, changes its spec
// (generation) or is replaced (uid); status and metadata writes (Gatekeeper's
// audit writes constraint status every minute) call nothing.
func onSpecChange(poke func()) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { poke() },
		UpdateFunc: func(oldObj, newObj any) {
			o, okO := oldObj.(client.Object)
			n, okN := newObj.(client.Object)
			if !okO || !okN || o.GetGeneration() != n.GetGeneration() || o.GetUID() != n.GetUID() {
				poke()
			}
		},
		DeleteFunc: func(any) { poke() },
	}
}

// kicker returns a channel that holds at most one wake-up, and the function
// that sends it.
func kicker() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	return ch, func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (l *Loader) load(ctx context.Context, log logr.Logger) {
	var list v1alpha1.GuardrailPolicyList
	if err := l.cache.List(ctx, &list); err != nil {
		log.Error(err, "listing GuardrailPolicies")
		return
	}
	errs := l.engine.SetPolicies(list.Items)
	loaded := make(map[string]int64, len(list.Items))
	for i := range list.Items {
		loaded[list.Items[i].Name] = list.Items[i].Generation
	}
	l.mu.Lock()
	l.loaded = loaded
	l.mu.Unlock()
	l.notify()
	log.V(1).Info("loaded GuardrailPolicies", "policies", len(list.Items), "withErrors", len(errs))
}

// notify tells every subscriber of Changes that the engine's set changed.
func (l *Loader) notify() {
	l.mu.Lock()
	subs := l.subs
	l.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- event.GenericEvent{Object: &v1alpha1.GuardrailPolicy{}}:
		default: // one is already waiting
		}
	}
}
