package resolve

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// vendorCache is a Vendor informer cache in memory: Get and List hand out
// deep copies (as the manager's cache does), each write gets a new
// resourceVersion, and the informer's events go to the handlers.
type vendorCache struct {
	mu       sync.Mutex
	m        map[string]*v1alpha1.Vendor
	rv       int
	handlers []toolscache.ResourceEventHandler
	failGet  error // returned by Get when set
}

func newVendorCache(n int) *vendorCache {
	c := &vendorCache{m: map[string]*v1alpha1.Vendor{}}
	for i := range n {
		c.put(testVendor(fmt.Sprintf("vendor-%04d", i), v1alpha1.VendorApproved))
	}
	return c
}

func testVendor(name string, status v1alpha1.VendorStatus) *v1alpha1.Vendor {
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "growth"}},
		Spec: v1alpha1.VendorSpec{
			DisplayName: name, Category: "email", Status: status,
			Domains: []v1alpha1.FQDN{v1alpha1.FQDN(name + ".example.com"), v1alpha1.FQDN("api." + name + ".example.com")},
		},
	}
}

// put stores v under a new resourceVersion and tells the handlers.
func (c *vendorCache) put(v *v1alpha1.Vendor) {
	c.mu.Lock()
	v = v.DeepCopy()
	c.rv++
	v.UID = types.UID("uid-" + v.Name)
	v.ResourceVersion = strconv.Itoa(c.rv)
	old := c.m[v.Name]
	c.m[v.Name] = v
	handlers := c.handlers
	c.mu.Unlock()
	for _, h := range handlers {
		if old == nil {
			h.OnAdd(v, false)
		} else {
			h.OnUpdate(old, v)
		}
	}
}

// del deletes the Vendor name; the handlers see a tombstone when
// tombstone is set (a delete the informer missed).
func (c *vendorCache) del(name string, tombstone bool) {
	c.mu.Lock()
	old := c.m[name]
	delete(c.m, name)
	handlers := c.handlers
	c.mu.Unlock()
	if old == nil {
		return // no event
	}
	for _, h := range handlers {
		if tombstone {
			h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: name, Obj: old})
		} else {
			h.OnDelete(old)
		}
	}
}

func (c *vendorCache) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failGet != nil {
		return c.failGet
	}
	v, ok := obj.(*v1alpha1.Vendor)
	if !ok {
		return fmt.Errorf("vendorCache: no %T", obj)
	}
	stored := c.m[key.Name]
	if stored == nil {
		return apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("vendors").GroupResource(), key.Name)
	}
	stored.DeepCopyInto(v)
	return nil
}

func (c *vendorCache) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := list.(*v1alpha1.VendorList)
	if !ok {
		return fmt.Errorf("vendorCache: no %T", list)
	}
	l.Items = make([]v1alpha1.Vendor, 0, len(c.m))
	for _, v := range c.m {
		l.Items = append(l.Items, *v.DeepCopy())
	}
	return nil
}

// cataloguesOn returns a Catalogues reading cache and hearing its events.
func cataloguesOn(cache *vendorCache) *Catalogues {
	cats := NewCatalogues(cache)
	cache.handlers = append(cache.handlers, cats.Handler())
	return cats
}

func mustGet(t testing.TB, cats *Catalogues, names ...string) *policy.Catalogue {
	t.Helper()
	cat, err := cats.Get(context.Background(), names...)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// counts fails t unless cats listed builds times and converted conversions
// Vendors in all.
func counts(t *testing.T, cats *Catalogues, what string, builds uint64, conversions int64) {
	t.Helper()
	if b, c := cats.Builds(), cats.Conversions(); b != builds || c != conversions {
		t.Fatalf("%s: %d lists and %d conversions, want %d and %d", what, b, c, builds, conversions)
	}
}

// matchesCache fails t unless cat holds exactly the cache's Vendors, by
// resourceVersion.
func matchesCache(t *testing.T, cat *policy.Catalogue, cache *vendorCache) {
	t.Helper()
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cat.Len() != len(cache.m) {
		t.Fatalf("the catalogue has %d vendors, the cache %d", cat.Len(), len(cache.m))
	}
	for name, v := range cache.m {
		got := cat.Vendors()[name]
		if got == nil || got.ResourceVersion != v.ResourceVersion {
			t.Fatalf("vendor %s: the catalogue has %v, the cache resourceVersion %s", name, got, v.ResourceVersion)
		}
	}
}

// Lists once, then converts only the Vendors the informer's events name:
// updated, added, deleted (also through a tombstone); an event that
// changes nothing (the informer's replay on registration) converts none.
func TestCataloguesIncremental(t *testing.T) {
	cache := newVendorCache(20)
	cats := cataloguesOn(cache)
	cat := mustGet(t, cats)
	counts(t, cats, "first Get", 1, 20)
	matchesCache(t, cat, cache)

	for range 10 {
		if again := mustGet(t, cats, "vendor-0003"); again != cat {
			t.Fatal("an unchanged catalogue was made again")
		}
	}
	counts(t, cats, "unchanged", 1, 20)

	old := cat
	hs := testVendor("vendor-0003", v1alpha1.VendorRestricted)
	cache.put(hs)
	cat = mustGet(t, cats)
	counts(t, cats, "one update", 1, 21)
	matchesCache(t, cat, cache)
	if got := cat.Vendors()["vendor-0003"].Spec.Status; got != v1alpha1.VendorRestricted {
		t.Fatalf("updated vendor: status %q", got)
	}
	if got := old.Vendors()["vendor-0003"].Spec.Status; got != v1alpha1.VendorApproved {
		t.Fatalf("the catalogue a request may still hold changed: status %q", got)
	}

	cache.put(testVendor("braze", v1alpha1.VendorApproved))
	cache.put(testVendor("segment", v1alpha1.VendorApproved))
	cache.del("vendor-0005", false)
	cache.del("vendor-0006", true)
	cat = mustGet(t, cats)
	counts(t, cats, "two creates, two deletes", 1, 23)
	matchesCache(t, cat, cache)

	// A handler registered late: the informer replays what it holds as
	// adds, not what was deleted in between, so the catalogue is listed
	// again, and only what differs is converted (nothing here, but the
	// Vendor deleted unheard).
	cache.mu.Lock()
	delete(cache.m, "vendor-0007")
	cache.mu.Unlock()
	for name := range cat.Vendors() {
		var v v1alpha1.Vendor
		if err := cache.Get(context.Background(), client.ObjectKey{Name: name}, &v); err == nil {
			cats.Handler().OnAdd(&v, true)
		}
	}
	cat = mustGet(t, cats)
	counts(t, cats, "replayed adds", 2, 23)
	matchesCache(t, cat, cache)

	// A resync (same resourceVersion) records nothing.
	v := cat.Vendors()["braze"]
	h := cats.Handler()
	cats.take() // Handler itself marked a list
	h.OnUpdate(v, v)
	if cats.pending.Load() {
		t.Fatal("a resync of an unchanged Vendor was recorded")
	}

	cats.Invalidate()
	if again := mustGet(t, cats); again != cat {
		t.Fatal("listed again without a change: a new catalogue")
	}
	counts(t, cats, "invalidated", 3, 23)
}

// A Vendor the handler has not heard of yet (the informer calls it after
// the reconcile the same event started): a request naming it gets the
// cache's version; one naming none keeps the catalogue it has.
func TestCataloguesNamedVendorFresh(t *testing.T) {
	cache := newVendorCache(5)
	cats := NewCatalogues(cache) // deaf: hears no event
	before := mustGet(t, cats)
	cache.put(testVendor("vendor-0001", v1alpha1.VendorProhibited))
	cache.del("vendor-0002", false)
	if same := mustGet(t, cats); same != before {
		t.Fatal("a request naming no vendor made the catalogue again")
	}
	cat := mustGet(t, cats, "vendor-0001", "vendor-0002", "absent")
	if got := cat.Vendors()["vendor-0001"].Spec.Status; got != v1alpha1.VendorProhibited {
		t.Fatalf("named vendor: status %q, want prohibited (the cache's)", got)
	}
	if cat.Vendors()["vendor-0002"] != nil || cat.Vendors()["absent"] != nil {
		t.Fatalf("deleted or absent named vendors in the catalogue: %v", cat.Vendors())
	}
	counts(t, cats, "two named vendors changed", 1, 6)
}

// A Get that cannot read a recorded Vendor fails and forgets nothing: the
// next one applies it.
func TestCataloguesReadErrorKeepsChanges(t *testing.T) {
	cache := newVendorCache(3)
	cats := cataloguesOn(cache)
	mustGet(t, cats)
	cache.put(testVendor("vendor-0001", v1alpha1.VendorRestricted))
	cache.failGet = errors.New("cache stopped")
	if _, err := cats.Get(context.Background()); err == nil {
		t.Fatal("no error from a Get that could not read the changed Vendor")
	}
	cache.failGet = nil
	cat := mustGet(t, cats)
	if got := cat.Vendors()["vendor-0001"].Spec.Status; got != v1alpha1.VendorRestricted {
		t.Fatalf("the change was lost with the error: status %q", got)
	}
	counts(t, cats, "after the error", 1, 4)
}

// Concurrent requests while Vendors change: every Get succeeds, and once
// the changes stop the catalogue is the cache's.
func TestCataloguesConcurrent(t *testing.T) {
	cache := newVendorCache(30)
	cats := cataloguesOn(cache)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cats.Get(context.Background(), fmt.Sprintf("vendor-%04d", i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 200 {
		name := fmt.Sprintf("vendor-%04d", i%40)
		if i%7 == 0 {
			cache.del(name, false)
		} else {
			cache.put(testVendor(name, v1alpha1.VendorRestricted))
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	matchesCache(t, mustGet(t, cats), cache)
	if cats.Builds() != 1 {
		t.Fatalf("%d full lists, want 1", cats.Builds())
	}
}

// A MarketingWorkload's request names its integrations' vendors: it gets
// the cache's version of them even before the Vendor's event reached the
// catalogue.
func TestWorkloadRequestNamesIntegrationVendors(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	hs := testVendor("hubspot", v1alpha1.VendorApproved)
	si := &v1alpha1.SaaSIntegration{
		ObjectMeta: metav1.ObjectMeta{Name: "crm", Namespace: "growth"},
		Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: "hubspot"},
	}
	mw := &v1alpha1.MarketingWorkload{
		ObjectMeta: metav1.ObjectMeta{Name: "spring", Namespace: "growth"},
		Spec:       v1alpha1.MarketingWorkloadSpec{Integrations: []v1alpha1.IntegrationRef{{Name: "crm"}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(hs, si, mw).Build()
	ctx := context.Background()
	cats := NewCatalogues(c) // deaf: hears no event
	res := Resolver{Reader: c, Catalogues: cats}
	if _, err := res.Request(ctx, mw, policy.OperationAudit, time.Now()); err != nil {
		t.Fatal(err)
	}
	var stored v1alpha1.Vendor
	if err := c.Get(ctx, client.ObjectKeyFromObject(hs), &stored); err != nil {
		t.Fatal(err)
	}
	stored.Spec.Status = v1alpha1.VendorProhibited
	if err := c.Update(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	req, err := res.Request(ctx, mw, policy.OperationAudit, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Catalogue.Vendors()["hubspot"]; got == nil || got.Spec.Status != v1alpha1.VendorProhibited {
		t.Fatalf("the workload's request judged against %v, want hubspot prohibited (the cache's)", got)
	}
	if len(req.Integrations) != 1 {
		t.Fatalf("integrations: %v", req.Integrations)
	}
}

// BenchmarkCataloguesChange is one Vendor changed, then a request:
//
//   - incremental: the catalogue kept from the informer's events (the
//     changed Vendor read and converted, the others' values reused);
//   - relist: listed and converted whole, as every Vendor event made the
//     next request do before the catalogue was kept incrementally;
//   - list-diff: listed whole but only what differs converted (what Get
//     does after Invalidate, or a late handler's replay).
func BenchmarkCataloguesChange(b *testing.B) {
	for _, n := range []int{50, 2000} {
		for _, mode := range []string{"incremental", "relist", "list-diff"} {
			b.Run(fmt.Sprintf("vendors=%d/%s", n, mode), func(b *testing.B) {
				cache := newVendorCache(n)
				cats := cataloguesOn(cache)
				mustGet(b, cats)
				statuses := []v1alpha1.VendorStatus{v1alpha1.VendorApproved, v1alpha1.VendorRestricted}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					name := fmt.Sprintf("vendor-%04d", i%n)
					cache.put(testVendor(name, statuses[i%2]))
					switch mode {
					case "relist":
						cats = NewCatalogues(cache) // no catalogue yet: list and convert
					case "list-diff":
						cats.Invalidate()
					}
					if cat := mustGet(b, cats, name); cat.Vendors()[name].Spec.Status != statuses[i%2] {
						b.Fatalf("the change of %s is not in the catalogue", name)
					}
				}
			})
		}
	}
}
