package resolve

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// CatalogueReader is a Reader that keeps the catalogue converted itself
// (the CLI's World, which reads its files once per run).
type CatalogueReader interface {
	Catalogue(ctx context.Context) (*policy.Catalogue, error)
}

// Catalogues keeps a live cluster's vendor catalogue converted for the
// engine (policy.Catalogue), kept up to date incrementally from the
// Vendor informer's events, so that a request costs the same with 50
// vendors as with 2,000 and a change of one Vendor converts that Vendor
// only: without it every request lists and converts the whole catalogue.
//
// The first Get lists the informer cache and converts every Vendor. After
// that, a Vendor event records the Vendor's name (Handler, on the
// manager's Vendor informer); the next Get reads the recorded Vendors from
// the cache and applies them (policy.Catalogue.With): one conversion per
// changed Vendor, none for the others. A Get with nothing recorded takes
// no lock. Because the informer calls its handlers one after another in
// no fixed order, a reconcile that a Vendor's event started can ask before
// this handler has run: Get therefore also checks the vendors a request
// names (an integration's vendor) against the cache by resourceVersion
// and applies those that differ, so a request never judges an object
// against an older copy of its own vendor than the cache holds.
type Catalogues struct {
	reader client.Reader

	// What the handler recorded since the last Get that applied it.
	recMu   sync.Mutex
	changed map[string]struct{}
	relist  bool        // list again (Invalidate: see Handler)
	pending atomic.Bool // changed or relist is not empty: Get looks

	mu          sync.Mutex // one Get applies changes at a time
	cur         atomic.Pointer[policy.Catalogue]
	builds      atomic.Uint64 // full lists
	conversions atomic.Int64  // Vendors converted, lists and changes
}

// NewCatalogues reads Vendors through reader (the manager's cached client).
func NewCatalogues(reader client.Reader) *Catalogues {
	return &Catalogues{reader: reader}
}

// Invalidate marks the whole catalogue stale: the next Get lists it again.
func (c *Catalogues) Invalidate() {
	c.recMu.Lock()
	c.relist = true
	c.pending.Store(true)
	c.recMu.Unlock()
}

// Changed records that the Vendor name changed (created, updated or
// deleted): the next Get reads it again from the cache.
func (c *Catalogues) Changed(name string) {
	c.recMu.Lock()
	if c.changed == nil {
		c.changed = map[string]struct{}{}
	}
	c.changed[name] = struct{}{}
	c.pending.Store(true)
	c.recMu.Unlock()
}

// Builds is how many times the whole catalogue was listed (the first
// time converted whole; later, only the Vendors that differ).
func (c *Catalogues) Builds() uint64 { return c.builds.Load() }

// Conversions is how many Vendors were converted, by the full lists and
// by the changes applied since.
func (c *Catalogues) Conversions() int64 { return c.conversions.Load() }

// Handler is the Vendor informer's event handler that keeps c current: a
// Vendor added, deleted, or changed in anything the cache holds (spec,
// labels, status: the whole object is input.vendors) is recorded by name.
//
// A catalogue listed before the handler was registered may miss a Vendor
// deleted in between (the informer replays to a new handler the objects
// it holds, not the ones gone): Handler, and each add of the informer's
// replay, therefore mark the whole catalogue to be listed again. Such a
// list converts only the Vendors that differ from the catalogue it has.
func (c *Catalogues) Handler() toolscache.ResourceEventHandler {
	c.Invalidate()
	return vendorHandler{c}
}

// vendorHandler is Catalogues.Handler.
type vendorHandler struct{ c *Catalogues }

func (h vendorHandler) OnAdd(obj any, isInInitialList bool) {
	if isInInitialList {
		h.c.Invalidate()
		return
	}
	h.c.record(obj)
}

func (h vendorHandler) OnUpdate(oldObj, newObj any) {
	o, okO := oldObj.(client.Object)
	n, okN := newObj.(client.Object)
	if !okO || !okN || o.GetResourceVersion() != n.GetResourceVersion() {
		h.c.record(newObj)
	}
}

func (h vendorHandler) OnDelete(obj any) { h.c.record(obj) }

// record records the Vendor obj (or a tombstone of one) changed, or, when
// it has no name, the whole catalogue.
func (c *Catalogues) record(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		if _, name, err := toolscache.SplitMetaNamespaceKey(d.Key); err == nil && name != "" {
			c.Changed(name)
			return
		}
		obj = d.Obj
	}
	if o, ok := obj.(client.Object); ok && o.GetName() != "" {
		c.Changed(o.GetName())
		return
	}
	c.Invalidate()
}

// take returns what was recorded and forgets it.
func (c *Catalogues) take() (changed map[string]struct{}, relist bool) {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	changed, relist = c.changed, c.relist
	c.changed, c.relist = nil, false
	c.pending.Store(false)
	return changed, relist
}

// putBack records again what take returned, for a Get that failed.
func (c *Catalogues) putBack(changed map[string]struct{}, relist bool) {
	if relist {
		c.Invalidate()
	}
	for name := range changed {
		c.Changed(name)
	}
}

// Get returns the catalogue: the one it has when no Vendor changed since
// and the named vendors are the cache's versions; else that one with the
// recorded and the named Vendors read again from the cache (see
// Catalogues). The first Get lists the whole catalogue.
func (c *Catalogues) Get(ctx context.Context, names ...string) (*policy.Catalogue, error) {
	if cat := c.cur.Load(); cat != nil && !c.pending.Load() {
		fresh, err := c.fresh(ctx, cat, names)
		if err != nil {
			return nil, err
		}
		if fresh {
			return cat, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed, relist := c.take()
	cat := c.cur.Load()
	if cat == nil || relist {
		// Whatever was recorded before the list is in it.
		next, err := c.list(ctx, cat)
		if err != nil {
			c.putBack(changed, relist)
			return nil, err
		}
		c.builds.Add(1)
		if next != cat {
			c.conversions.Add(int64(next.Converted()))
			c.cur.Store(next)
		}
		return next, nil
	}
	next, err := c.apply(ctx, cat, changed, names)
	if err != nil {
		c.putBack(changed, false)
		return nil, err
	}
	if next != cat {
		c.conversions.Add(int64(next.Converted()))
		c.cur.Store(next)
	}
	return next, nil
}

// list lists the whole catalogue: converted whole the first time (cat
// nil), else applied to cat (only the Vendors that differ are converted).
func (c *Catalogues) list(ctx context.Context, cat *policy.Catalogue) (*policy.Catalogue, error) {
	vendors, err := Resolver{Reader: c.reader}.Vendors(ctx)
	if err != nil {
		return nil, err
	}
	var next *policy.Catalogue
	if cat == nil {
		next, err = policy.NewCatalogue(vendors)
	} else {
		for name := range cat.Vendors() {
			if _, listed := vendors[name]; !listed {
				vendors[name] = nil // deleted
			}
		}
		next, err = cat.With(vendors)
	}
	if err != nil {
		return nil, fmt.Errorf("converting the vendor catalogue: %w", err)
	}
	return next, nil
}

// apply returns cat with the recorded and the named Vendors as the cache
// holds them now (absent where it has none).
func (c *Catalogues) apply(ctx context.Context, cat *policy.Catalogue, changed map[string]struct{}, names []string) (*policy.Catalogue, error) {
	updates := make(map[string]*v1alpha1.Vendor, len(changed)+len(names))
	read := func(name string) error {
		if _, done := updates[name]; done || name == "" {
			return nil
		}
		var v v1alpha1.Vendor
		err := c.reader.Get(ctx, types.NamespacedName{Name: name}, &v)
		switch {
		case apierrors.IsNotFound(err):
			updates[name] = nil
		case err != nil:
			return fmt.Errorf("reading Vendor %s: %w", name, err)
		default:
			updates[name] = &v
		}
		return nil
	}
	for name := range changed {
		if err := read(name); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		if err := read(name); err != nil {
			return nil, err
		}
	}
	next, err := cat.With(updates)
	if err != nil {
		return nil, fmt.Errorf("converting the vendor catalogue: %w", err)
	}
	return next, nil
}

// fresh reports whether cat holds the cache's version of every named
// vendor (absent where the cache has none).
func (c *Catalogues) fresh(ctx context.Context, cat *policy.Catalogue, names []string) (bool, error) {
	for _, name := range names {
		if name == "" {
			continue
		}
		var v v1alpha1.Vendor
		err := c.reader.Get(ctx, types.NamespacedName{Name: name}, &v, client.UnsafeDisableDeepCopy)
		have := cat.Vendors()[name]
		switch {
		case client.IgnoreNotFound(err) != nil:
			return false, fmt.Errorf("reading Vendor %s: %w", name, err)
		case err != nil:
			if have != nil {
				return false, nil
			}
		case have == nil || have.ResourceVersion != v.ResourceVersion:
			return false, nil
		}
	}
	return true, nil
}
