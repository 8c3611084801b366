package policyset_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

func catalogueVendor(name string) *v1alpha1.Vendor {
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.VendorSpec{
			DisplayName: name, Category: "email", Status: v1alpha1.VendorApproved,
			Domains: []v1alpha1.FQDN{v1alpha1.FQDN(name + ".example.com")},
		},
	}
}

// eventually polls cond for up to 30 s.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The manager's catalogue is converted once, then follows every change
// (created, updated, deleted) through the Vendor informer, converting only
// the changed Vendor, and, when asked about a vendor the informer cache holds
// in another version (a reconcile that a Vendor's event started before the
// catalogue heard of it), is read again.
func TestLoaderCatalogue(t *testing.T) {
	engine, err := policy.New(policy.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, loader, mgr := startLoader(t, engine)
	cats := loader.Catalogues()
	if cats == nil {
		t.Fatal("a loader added to a manager has no catalogue")
	}
	ctx := context.Background()
	statusOf := func(cat *policy.Catalogue, name string) v1alpha1.VendorStatus {
		if v := cat.Vendors()[name]; v != nil {
			return v.Spec.Status
		}
		return ""
	}
	for _, name := range []string{"hubspot", "mailchimp"} {
		if err := c.Create(ctx, catalogueVendor(name)); err != nil {
			t.Fatal(err)
		}
	}
	var cat *policy.Catalogue
	eventually(t, "both vendors in the catalogue", func() (bool, error) {
		cat, err = cats.Get(ctx)
		return cat.Len() == 2, err
	})

	// Unchanged: the same catalogue, not converted again.
	builds := cats.Builds()
	for range 100 {
		again, err := cats.Get(ctx, "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		if again != cat {
			t.Fatal("an unchanged catalogue was converted again")
		}
	}
	if got := cats.Builds(); got != builds {
		t.Fatalf("100 requests on an unchanged catalogue converted it %d times", got-builds)
	}
	t.Logf("so far: %d lists, %d conversions (2 creates)", builds, cats.Conversions())

	// Updated and deleted: followed through the informer.
	var hs v1alpha1.Vendor
	if err := c.Get(ctx, types.NamespacedName{Name: "hubspot"}, &hs); err != nil {
		t.Fatal(err)
	}
	hs.Spec.Status = v1alpha1.VendorRestricted
	if err := c.Update(ctx, &hs); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, catalogueVendor("mailchimp")); err != nil {
		t.Fatal(err)
	}
	conversions := cats.Conversions()
	eventually(t, "the update and the delete in the catalogue", func() (bool, error) {
		cat, err := cats.Get(ctx)
		return err == nil && statusOf(cat, "hubspot") == v1alpha1.VendorRestricted && cat.Len() == 1, err
	})
	// Kept incrementally: the updated Vendor converted, nothing listed.
	if got := cats.Builds(); got != builds {
		t.Errorf("an update and a delete listed the catalogue %d times", got-builds)
	}
	if got := cats.Conversions() - conversions; got != 1 {
		t.Errorf("an update and a delete converted %d Vendors, want 1", got)
	}

	// A catalogue no informer event reaches: a request that names a
	// vendor the cache holds in another version reads it again; one that
	// names none keeps what it has.
	deaf := resolve.NewCatalogues(mgr.GetCache())
	before, err := deaf.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, types.NamespacedName{Name: "hubspot"}, &hs); err != nil {
		t.Fatal(err)
	}
	hs.Spec.Status = v1alpha1.VendorProhibited
	if err := c.Update(ctx, &hs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cache sees the update", func() (bool, error) {
		var cached v1alpha1.Vendor
		err := mgr.GetCache().Get(ctx, client.ObjectKeyFromObject(&hs), &cached)
		return cached.ResourceVersion == hs.ResourceVersion, err
	})
	if same, err := deaf.Get(ctx); err != nil || same != before {
		t.Fatalf("a request naming no vendor re-read an unchanged catalogue (err %v)", err)
	}
	fresh, err := deaf.Get(ctx, "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	if got := statusOf(fresh, "hubspot"); got != v1alpha1.VendorProhibited {
		t.Fatalf("a request naming hubspot got it %q, want prohibited (the cache's version)", got)
	}
	if fresh, err := deaf.Get(ctx, "gone"); err != nil || fresh.Vendors()["gone"] != nil {
		t.Fatalf("a vendor that does not exist: %v, %v", fresh.Vendors()["gone"], err)
	}
}
