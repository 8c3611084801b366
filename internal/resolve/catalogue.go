package resolve

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

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
// engine (policy.Catalogue) between two changes of a Vendor, so that a
// request costs the same with 50 vendors as with 2,000: without it every
// request lists and converts the whole catalogue.
//
// A Vendor event marks the catalogue stale (Handler, on the manager's
// Vendor informer); the next request lists the informer cache once and
// converts it again. Because the informer calls its handlers one after
// another in no fixed order, a reconcile that a Vendor's event started can
// ask before this handler has run: Get therefore also checks the vendors a
// request names (an integration's vendor) against the cache and lists
// again when one differs, so a request never judges an object against an
// older copy of its own vendor than the cache holds.
type Catalogues struct {
	reader client.Reader
	gen    atomic.Uint64 // bumped by every Vendor event

	mu     sync.Mutex
	cur    *policy.Catalogue
	curGen uint64
	builds atomic.Uint64 // how many times the catalogue was converted
}

// NewCatalogues reads Vendors through reader (the manager's cached client).
func NewCatalogues(reader client.Reader) *Catalogues {
	return &Catalogues{reader: reader}
}

// Invalidate marks the catalogue stale: the next Get lists it again.
func (c *Catalogues) Invalidate() { c.gen.Add(1) }

// Builds is how many times the catalogue was listed and converted.
func (c *Catalogues) Builds() uint64 { return c.builds.Load() }

// Handler is the Vendor informer's event handler that keeps c current: a
// Vendor added, deleted, or changed in anything the cache holds (spec,
// labels, status: the whole object is input.vendors) marks it stale.
func (c *Catalogues) Handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.Invalidate() },
		UpdateFunc: func(oldObj, newObj any) {
			o, okO := oldObj.(client.Object)
			n, okN := newObj.(client.Object)
			if !okO || !okN || o.GetResourceVersion() != n.GetResourceVersion() {
				c.Invalidate()
			}
		},
		DeleteFunc: func(any) { c.Invalidate() },
	}
}

// Get returns the catalogue, listing and converting it when a Vendor
// changed since the last list, or when one of the named vendors differs
// from the cache (see Catalogues).
func (c *Catalogues) Get(ctx context.Context, names ...string) (*policy.Catalogue, error) {
	g := c.gen.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.curGen == g {
		fresh, err := c.fresh(ctx, c.cur, names)
		if err != nil {
			return nil, err
		}
		if fresh {
			return c.cur, nil
		}
	}
	vendors, err := Resolver{Reader: c.reader}.Vendors(ctx)
	if err != nil {
		return nil, err
	}
	cat, err := policy.NewCatalogue(vendors)
	if err != nil {
		return nil, fmt.Errorf("converting the vendor catalogue: %w", err)
	}
	c.builds.Add(1)
	c.cur, c.curGen = cat, g
	return cat, nil
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
