package policyset

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/martech-guardrails/guardrails/internal/policy"
	gk "github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// constraintVersion is the version of constraints.gatekeeper.sh read: the
// one Gatekeeper stores.
const constraintVersion = "v1beta1"

var templateGK = gk.TemplateGVK.GroupKind()

// DefaultGatekeeperRecheck is how often the loader looks for Gatekeeper's
// CRDs while they are missing: one discovery call a minute per replica.
const DefaultGatekeeperRecheck = time.Minute

// gatekeeperSyncTimeout bounds the wait for a new informer's first list
// (missing RBAC would otherwise hold the webhooks' first load for ever).
const gatekeeperSyncTimeout = 30 * time.Second

// gatekeeper is the Loader's part that reads Gatekeeper's objects in the
// cluster; only the Loader's Start goroutine uses it. It never writes them:
// Gatekeeper owns their status and the constraint CRDs.
//
//   - ConstraintTemplates (templates.gatekeeper.sh/v1) are watched when
//     their CRD is served; when it is not, nothing is watched, the loader
//     logs one line and looks again every GatekeeperOptions.Recheck
//     (Gatekeeper installed after the operator is picked up without a
//     restart).
//   - Each template defines a constraint kind (spec.crd.spec.names.kind)
//     in constraints.gatekeeper.sh/v1beta1, whose CRD Gatekeeper creates
//     after the template. Its constraints are watched once that CRD is
//     served: every template event (Gatekeeper writes the template's status
//     when it has made the CRD) and every Recheck while a kind is missing
//     look again. A kind no template defines any more is unwatched.
//
// On every change the engine is given every template and every constraint
// (Engine.SetGatekeeper, atomic; a template that does not compile keeps its
// last good version in force), the errors and skipped templates are
// logged, and the subscribers of Changes are told, as after a
// GuardrailPolicy change.
type gatekeeper struct {
	cache   cache.Cache
	mapper  meta.RESTMapper
	engine  *policy.Engine
	poke    func()
	recheck time.Duration

	disabled    bool
	templates   *watch            // nil until the template CRD is served
	constraints map[string]*watch // by constraint kind
	toldAbsent  bool              // the one "not served" line is logged
	last        string            // fingerprint of the last set given
}

// GatekeeperLoaded is what the engine was last given of Gatekeeper's
// objects and what it made of them.
type GatekeeperLoaded struct {
	// Generations of the objects given, by "ConstraintTemplate/<name>" and
	// "<Kind>/<name>" (the keys of Report.Errors).
	Generations map[string]int64
	Report      policy.GatekeeperReport
}

// watch is one informer the loader added a handler to.
type watch struct {
	obj *unstructured.Unstructured
	inf cache.Informer
	reg toolscache.ResourceEventHandlerRegistration
	// synced: its first list is in (waitSynced)
	synced bool
}

func newGatekeeper(c cache.Cache, mapper meta.RESTMapper, engine *policy.Engine, o GatekeeperOptions, poke func()) *gatekeeper {
	recheck := o.Recheck
	if recheck <= 0 {
		recheck = DefaultGatekeeperRecheck
	}
	return &gatekeeper{cache: c, mapper: mapper, engine: engine, poke: poke, recheck: recheck, disabled: o.Disabled,
		constraints: map[string]*watch{}}
}

// sync brings the watches and the engine's Gatekeeper set up to date. It
// returns whether to look again after g.recheck (a CRD is missing), and
// what the engine was given when its set changed (nil when it did not).
func (g *gatekeeper) sync(ctx context.Context, log logr.Logger) (again bool, loaded *GatekeeperLoaded) {
	if g.disabled {
		if !g.toldAbsent {
			log.Info("Gatekeeper's templates and constraints are not read (disabled)")
			g.toldAbsent = true
		}
		return false, nil
	}
	if g.templates == nil {
		if !g.served(templateGK, gk.TemplateGVK.Version) {
			if !g.toldAbsent {
				log.Info("Gatekeeper's ConstraintTemplate CRD is not served: no Gatekeeper templates are watched", "crd", "constrainttemplates."+gk.TemplateGroup, "recheckEvery", g.recheck.String())
				g.toldAbsent = true
			}
			return true, nil
		}
		w, err := g.watch(ctx, log, gk.TemplateGVK, g.pokeAll())
		if err != nil {
			log.Error(err, "watching Gatekeeper's ConstraintTemplates")
			return true, nil
		}
		g.templates = w
		log.Info("watching Gatekeeper's ConstraintTemplates and their constraints")
	}
	templates, err := g.list(ctx, g.templates)
	if err != nil {
		log.Error(err, "listing Gatekeeper's ConstraintTemplates")
		return true, nil
	}
	again = g.watchKinds(ctx, log, templates)
	var constraints []*unstructured.Unstructured
	for _, kind := range slices.Sorted(maps.Keys(g.constraints)) {
		items, err := g.list(ctx, g.constraints[kind])
		if err != nil {
			log.Error(err, "listing Gatekeeper constraints", "kind", kind)
			again = true
			continue
		}
		constraints = append(constraints, items...)
	}
	fp := fingerprint(templates, constraints)
	if fp == g.last {
		return again, nil
	}
	report := g.engine.SetGatekeeper(templates, constraints)
	g.last = fp
	gens := make(map[string]int64, len(templates)+len(constraints))
	for _, o := range slices.Concat(templates, constraints) {
		gens[gk.Key(o.GetKind(), o.GetName())] = o.GetGeneration()
	}
	logReport(log, report, len(templates), len(constraints))
	return again, &GatekeeperLoaded{Generations: gens, Report: report}
}

// watchKinds watches the constraints of every kind the templates define
// whose CRD is served, and stops watching kinds no template defines. It
// returns whether a kind is still missing.
func (g *gatekeeper) watchKinds(ctx context.Context, log logr.Logger, templates []*unstructured.Unstructured) bool {
	want := map[string]bool{}
	for _, t := range templates {
		if kind, _, _ := unstructured.NestedString(t.Object, "spec", "crd", "spec", "names", "kind"); kind != "" {
			want[kind] = true
		}
	}
	for kind, w := range g.constraints {
		if !want[kind] {
			g.unwatch(ctx, log, w)
			delete(g.constraints, kind)
		}
	}
	missing := map[string]bool{} // kinds whose CRD is not served (yet)
	var started []*watch         // their first lists run side by side
	for _, kind := range slices.Sorted(maps.Keys(want)) {
		if g.constraints[kind] != nil {
			continue
		}
		gvk := schema.GroupVersionKind{Group: gk.ConstraintGroup, Version: constraintVersion, Kind: kind}
		if !g.served(gvk.GroupKind(), gvk.Version) {
			missing[kind] = true
			continue
		}
		w, err := g.start(ctx, gvk, onSpecChange(g.poke))
		if err != nil {
			log.Error(err, "watching Gatekeeper constraints", "kind", kind)
			missing[kind] = true
			continue
		}
		started = append(started, w)
	}
	g.waitSynced(ctx, started...)
	for _, w := range started {
		if w.synced {
			g.constraints[w.obj.GetKind()] = w
			continue
		}
		log.Error(nil, "Gatekeeper constraints not watched: the informer did not sync in time (does the manager's ClusterRole grant get, list and watch on constraints.gatekeeper.sh?)", "kind", w.obj.GetKind(), "waited", gatekeeperSyncTimeout.String())
		g.unwatch(ctx, log, w)
		missing[w.obj.GetKind()] = true
	}
	if len(missing) > 0 {
		log.V(1).Info("constraint CRDs not served yet (Gatekeeper makes them after the template)", "kinds", slices.Sorted(maps.Keys(missing)))
	}
	return len(missing) > 0
}

// served asks the RESTMapper, which asks discovery again for a group or
// version it does not know.
func (g *gatekeeper) served(groupKind schema.GroupKind, version string) bool {
	_, err := g.mapper.RESTMapping(groupKind, version)
	return err == nil
}

// watch starts the cache's informer for gvk with handler and waits a
// bounded time for its first list.
func (g *gatekeeper) watch(ctx context.Context, log logr.Logger, gvk schema.GroupVersionKind, handler toolscache.ResourceEventHandler) (*watch, error) {
	w, err := g.start(ctx, gvk, handler)
	if err != nil {
		return nil, err
	}
	if g.waitSynced(ctx, w); !w.synced {
		g.unwatch(ctx, log, w)
		return nil, fmt.Errorf("%s: the informer did not sync within %s (does the manager's ClusterRole grant get, list and watch?)", gvk.Kind, gatekeeperSyncTimeout)
	}
	return w, nil
}

// start starts (or reuses) the cache's informer for gvk and adds handler,
// without waiting for its first list.
func (g *gatekeeper) start(ctx context.Context, gvk schema.GroupVersionKind, handler toolscache.ResourceEventHandler) (*watch, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	inf, err := g.cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, err
	}
	reg, err := inf.AddEventHandler(handler)
	if err != nil {
		return nil, err
	}
	return &watch{obj: obj, inf: inf, reg: reg}, nil
}

// waitSynced waits up to gatekeeperSyncTimeout, for all of ws together,
// until their informers have listed, and marks those that have.
func (g *gatekeeper) waitSynced(ctx context.Context, ws ...*watch) {
	wait, cancel := context.WithTimeout(ctx, gatekeeperSyncTimeout)
	defer cancel()
	for _, w := range ws {
		w.synced = toolscache.WaitForCacheSync(wait.Done(), w.inf.HasSynced)
	}
}

func (g *gatekeeper) unwatch(ctx context.Context, log logr.Logger, w *watch) {
	_ = w.inf.RemoveEventHandler(w.reg)
	if err := g.cache.RemoveInformer(ctx, w.obj); err != nil {
		log.Error(err, "removing an informer", "kind", w.obj.GetKind())
	}
}

// list returns the objects the watch's informer holds, sorted by name.
func (g *gatekeeper) list(ctx context.Context, w *watch) ([]*unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(w.obj.GroupVersionKind().GroupVersion().WithKind(w.obj.GetKind() + "List"))
	if err := g.cache.List(ctx, list); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// pokeAll reloads on every template event, status updates included:
// Gatekeeper writes a template's status once it has made the constraint
// CRD, which is when its constraints can be watched. Reloads that change
// nothing stop at the fingerprint.
func (g *gatekeeper) pokeAll() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { g.poke() },
		UpdateFunc: func(any, any) { g.poke() },
		DeleteFunc: func(any) { g.poke() },
	}
}

// fingerprint names the set: kind, name, uid and generation of each object
// (the spec changes the generation; status and metadata do not matter to
// the engine).
func fingerprint(templates, constraints []*unstructured.Unstructured) string {
	var b strings.Builder
	for _, set := range [][]*unstructured.Unstructured{templates, constraints} {
		for _, o := range set {
			fmt.Fprintf(&b, "%s/%s/%s/%d;", o.GetKind(), o.GetName(), o.GetUID(), o.GetGeneration())
		}
		b.WriteByte('|')
	}
	return b.String()
}

// logReport logs what the engine made of the set: every error (line:col
// in a template's Rego) and every skipped template, with its reason.
func logReport(log logr.Logger, r policy.GatekeeperReport, templates, constraints int) {
	for _, obj := range slices.Sorted(maps.Keys(r.Errors)) {
		for _, e := range r.Errors[obj] {
			log.Error(nil, "Gatekeeper object rejected (a template keeps its last good version in force)", "object", obj, "error", e.Error())
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Skipped)) {
		log.Info("Gatekeeper template skipped", "template", name, "reason", r.Skipped[name])
	}
	log.Info("loaded Gatekeeper templates and constraints", "templates", templates, "constraints", constraints, "withErrors", len(r.Errors), "skipped", len(r.Skipped))
}
