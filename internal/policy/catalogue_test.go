package policy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// storedVendor is a Vendor as an informer cache holds it: with a UID and
// a resourceVersion.
func storedVendor(name, rv string, status v1alpha1.VendorStatus) *v1alpha1.Vendor {
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), ResourceVersion: rv},
		Spec: v1alpha1.VendorSpec{
			DisplayName: name, Category: "email", Status: status,
			Domains: []v1alpha1.FQDN{v1alpha1.FQDN(name + ".example.com")},
		},
	}
}

// entry is the value input.vendors holds for name (nil when absent).
func entry(c *Catalogue, name string) *ast.Term {
	obj, ok := c.term.Value.(ast.Object)
	if !ok {
		return nil
	}
	return obj.Get(ast.StringTerm(name))
}

// sameAs fails t unless got's input.vendors equals a catalogue converted
// whole from vendors, and got's Vendors are vendors.
func sameAs(t *testing.T, got *Catalogue, vendors map[string]*v1alpha1.Vendor) {
	t.Helper()
	want, err := NewCatalogue(vendors)
	if err != nil {
		t.Fatal(err)
	}
	if !got.term.Equal(want.term) {
		t.Fatalf("input.vendors:\n got  %v\n want %v", got.term, want.term)
	}
	if !maps.Equal(got.Vendors(), vendors) {
		t.Fatalf("Vendors: got %v, want %v", got.Vendors(), vendors)
	}
	if got.Len() != want.Len() {
		t.Fatalf("Len: got %d, want %d", got.Len(), want.Len())
	}
}

// With converts only the changed Vendors (updated, added), drops the
// deleted ones, keeps the converted values of the others, and leaves the
// catalogue it was made from as it was.
func TestCatalogueWith(t *testing.T) {
	old := map[string]*v1alpha1.Vendor{
		"hubspot":   storedVendor("hubspot", "1", v1alpha1.VendorApproved),
		"mailchimp": storedVendor("mailchimp", "2", v1alpha1.VendorApproved),
		"segment":   storedVendor("segment", "3", v1alpha1.VendorApproved),
	}
	base, err := NewCatalogue(maps.Clone(old))
	if err != nil {
		t.Fatal(err)
	}
	if base.Converted() != 3 {
		t.Fatalf("NewCatalogue of 3 vendors converted %d", base.Converted())
	}
	baseTerm := base.term.String()

	changes := map[string]*v1alpha1.Vendor{
		// Read again from the cache: another pointer, the same version.
		"hubspot":   storedVendor("hubspot", "1", v1alpha1.VendorApproved),
		"mailchimp": storedVendor("mailchimp", "4", v1alpha1.VendorRestricted), // updated
		"segment":   nil,                                                       // deleted
		"braze":     storedVendor("braze", "5", v1alpha1.VendorApproved),       // added
		"gone":      nil,                                                       // deleted, never there
	}
	next, err := base.With(changes)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Converted(); got != 2 {
		t.Fatalf("With converted %d vendors, want 2 (mailchimp updated, braze added)", got)
	}
	sameAs(t, next, map[string]*v1alpha1.Vendor{
		"hubspot":   old["hubspot"], // the one already converted is kept
		"mailchimp": changes["mailchimp"],
		"braze":     changes["braze"],
	})
	if entry(next, "hubspot") != entry(base, "hubspot") {
		t.Error("the unchanged vendor was converted again (not the same AST value)")
	}
	if entry(next, "mailchimp") == entry(base, "mailchimp") {
		t.Error("the updated vendor kept its old value")
	}

	// The old catalogue is untouched: readers may still hold it.
	if got := base.term.String(); got != baseTerm {
		t.Fatalf("With changed the catalogue it was made from:\n got  %s\n want %s", got, baseTerm)
	}
	sameAs(t, base, old)
	if base.Converted() != 3 {
		t.Fatalf("the old catalogue's Converted changed to %d", base.Converted())
	}
}

// Changes that change nothing give back the same catalogue.
func TestCatalogueWithNothingChanged(t *testing.T) {
	hs := storedVendor("hubspot", "1", v1alpha1.VendorApproved)
	base, err := NewCatalogue(map[string]*v1alpha1.Vendor{"hubspot": hs})
	if err != nil {
		t.Fatal(err)
	}
	for _, changes := range []map[string]*v1alpha1.Vendor{
		nil,
		{"hubspot": hs},
		{"hubspot": storedVendor("hubspot", "1", v1alpha1.VendorApproved)},
		{"absent": nil},
	} {
		got, err := base.With(changes)
		if err != nil {
			t.Fatal(err)
		}
		if got != base {
			t.Errorf("With(%v) made a new catalogue (converted %d)", changes, got.Converted())
		}
	}
}

// A Vendor without a UID and resourceVersion (files, tests) cannot be
// told unchanged from another pointer: it is converted again.
func TestCatalogueWithUnversioned(t *testing.T) {
	v := func() *v1alpha1.Vendor {
		x := storedVendor("hubspot", "", v1alpha1.VendorApproved)
		x.UID = ""
		return x
	}
	base, err := NewCatalogue(map[string]*v1alpha1.Vendor{"hubspot": v()})
	if err != nil {
		t.Fatal(err)
	}
	changed := v()
	changed.Spec.Status = v1alpha1.VendorProhibited
	next, err := base.With(map[string]*v1alpha1.Vendor{"hubspot": changed})
	if err != nil {
		t.Fatal(err)
	}
	if next.Converted() != 1 {
		t.Fatalf("converted %d, want 1", next.Converted())
	}
	sameAs(t, next, map[string]*v1alpha1.Vendor{"hubspot": changed})
}

// With on a nil catalogue starts from an empty one.
func TestCatalogueWithNil(t *testing.T) {
	var none *Catalogue
	hs := storedVendor("hubspot", "1", v1alpha1.VendorApproved)
	got, err := none.With(map[string]*v1alpha1.Vendor{"hubspot": hs, "gone": nil})
	if err != nil {
		t.Fatal(err)
	}
	sameAs(t, got, map[string]*v1alpha1.Vendor{"hubspot": hs})
	if got.Converted() != 1 {
		t.Fatalf("converted %d, want 1", got.Converted())
	}
}

// A long run of random changes: after each, the catalogue equals one
// converted whole from the same Vendors, and only the changed ones were
// converted.
func TestCatalogueWithRandomChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 1)) //nolint:gosec // a seeded, repeatable sequence of test changes, not a secret
	rv := 0
	vendor := func(name string) *v1alpha1.Vendor {
		rv++
		return storedVendor(name, fmt.Sprint(rv), []v1alpha1.VendorStatus{v1alpha1.VendorApproved, v1alpha1.VendorRestricted}[rng.IntN(2)])
	}
	current := map[string]*v1alpha1.Vendor{}
	for i := range 40 {
		name := fmt.Sprintf("v%02d", i)
		current[name] = vendor(name)
	}
	cat, err := NewCatalogue(maps.Clone(current))
	if err != nil {
		t.Fatal(err)
	}
	for step := range 200 {
		changes := map[string]*v1alpha1.Vendor{}
		converted := 0
		for range 1 + rng.IntN(4) {
			name := fmt.Sprintf("v%02d", rng.IntN(60))
			if _, dup := changes[name]; dup {
				continue
			}
			switch rng.IntN(3) {
			case 0: // deleted
				changes[name] = nil
				delete(current, name)
			case 1: // the same version read again
				if v := current[name]; v != nil {
					changes[name] = v.DeepCopy()
					continue
				}
				fallthrough
			default: // added or updated
				changes[name] = vendor(name)
				current[name] = changes[name]
				converted++
			}
		}
		next, err := cat.With(changes)
		if err != nil {
			t.Fatal(err)
		}
		if next.Converted() != converted && next != cat {
			t.Fatalf("step %d: converted %d, want %d", step, next.Converted(), converted)
		}
		if next == cat && converted > 0 {
			t.Fatalf("step %d: %d changes and the same catalogue", step, converted)
		}
		cat = next
		sameAs(t, cat, current)
	}
}
