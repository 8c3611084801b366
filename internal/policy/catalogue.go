package policy

import (
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// Catalogue is the vendor catalogue in the form policies read it,
// input.vendors, converted once and shared, read only, by every request
// that sees the same catalogue: the CLI's run, an audit pass, the
// operator between two changes of a Vendor. Without one, a request's
// Vendors are converted on every Evaluate, and the cost of judging one
// object grows with the catalogue (docs/policies.md, "Where the catalogue
// lives").
//
// A Catalogue never changes once made: With makes the next one from it,
// converting only the Vendors that changed.
type Catalogue struct {
	vendors map[string]*v1alpha1.Vendor
	// pairs are the entries of term (name -> the Vendor converted), sorted
	// by name, one per non-nil entry of vendors; With reuses them.
	pairs     [][2]*ast.Term
	term      *ast.Term // input.vendors: name -> the Vendor as stored
	converted int       // Vendors converted to make this catalogue
}

// NewCatalogue converts vendors (by name; nil entries are left out) for
// the engine. The map and the Vendors are kept, not copied: neither may
// change afterwards.
func NewCatalogue(vendors map[string]*v1alpha1.Vendor) (*Catalogue, error) {
	return newCatalogue(vendors, nil)
}

// newCatalogue is NewCatalogue through a conversion cache (nil: none).
func newCatalogue(vendors map[string]*v1alpha1.Vendor, cache *input.Cache) (*Catalogue, error) {
	pairs := make([][2]*ast.Term, 0, len(vendors))
	for _, name := range slices.Sorted(maps.Keys(vendors)) {
		v := vendors[name]
		if v == nil {
			continue
		}
		pair, err := cataloguePair(name, v, cache)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair)
	}
	if vendors == nil {
		vendors = map[string]*v1alpha1.Vendor{}
	}
	return &Catalogue{vendors: vendors, pairs: pairs, term: ast.ObjectTerm(pairs...), converted: len(pairs)}, nil
}

// cataloguePair converts one entry of input.vendors (through cache when
// not nil).
func cataloguePair(name string, v *v1alpha1.Vendor, cache *input.Cache) ([2]*ast.Term, error) {
	var obj *input.Object
	var err error
	if cache != nil {
		obj, err = cache.Object(v)
	} else {
		obj, err = input.TypedObject(v)
	}
	if err != nil {
		return [2]*ast.Term{}, fmt.Errorf("policy: converting Vendor %q: %w", name, err)
	}
	return ast.Item(ast.StringTerm(name), ast.NewTerm(obj.Value)), nil
}

// With returns the catalogue c with changed applied: each entry replaces
// the Vendor of its name, a nil one deletes it. Only the Vendors that
// differ from c's are converted; the others keep the value c converted.
// A Vendor is taken to be the same as c's when it is the same pointer, or
// when both have a UID and a resourceVersion and these are equal (the API
// server never stores two contents under one resourceVersion); Vendors
// without them (files, tests) are always converted again.
//
// c is not modified and stays valid (requests that read it may go on). When
// nothing in changed differs from c, With returns c itself. The changed
// map is not kept; its Vendors are, and may not change afterwards.
//
// Apart from the conversions, With copies c's index (a map and a slice of
// pointers, one entry per vendor) and rebuilds the object input.vendors
// over the converted values: linear in the catalogue's size, but with few
// allocations, against a conversion of every vendor for NewCatalogue.
// A nil c is an empty catalogue.
func (c *Catalogue) With(changed map[string]*v1alpha1.Vendor) (*Catalogue, error) {
	if c == nil {
		c = &Catalogue{vendors: map[string]*v1alpha1.Vendor{}, term: ast.ObjectTerm()}
	}
	// The names whose entry changes, sorted, and their new pairs.
	var names []string
	for name, v := range changed {
		if !sameVendor(c.vendors[name], v) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return c, nil
	}
	slices.Sort(names)
	fresh := make(map[string][2]*ast.Term, len(names))
	for _, name := range names {
		if v := changed[name]; v != nil {
			pair, err := cataloguePair(name, v, nil)
			if err != nil {
				return nil, err
			}
			fresh[name] = pair
		}
	}

	vendors := maps.Clone(c.vendors)
	for _, name := range names {
		if v := changed[name]; v != nil {
			vendors[name] = v
		} else {
			delete(vendors, name)
		}
	}
	// Merge c's sorted pairs with the sorted changed names.
	pairs := make([][2]*ast.Term, 0, len(c.pairs)+len(fresh))
	i := 0
	for _, name := range names {
		for i < len(c.pairs) && pairName(c.pairs[i]) < name {
			pairs = append(pairs, c.pairs[i])
			i++
		}
		if i < len(c.pairs) && pairName(c.pairs[i]) == name {
			i++ // replaced or deleted
		}
		if pair, ok := fresh[name]; ok {
			pairs = append(pairs, pair)
		}
	}
	pairs = append(pairs, c.pairs[i:]...)
	return &Catalogue{vendors: vendors, pairs: pairs, term: ast.ObjectTerm(pairs...), converted: len(fresh)}, nil
}

// pairName is the vendor name of an entry of input.vendors.
func pairName(pair [2]*ast.Term) string {
	s, _ := pair[0].Value.(ast.String)
	return string(s)
}

// sameVendor reports whether a catalogue holding old may keep it (and its
// converted value) for v: both absent, the same pointer, or the same UID
// and resourceVersion.
func sameVendor(old, v *v1alpha1.Vendor) bool {
	switch {
	case old == v:
		return true
	case old == nil || v == nil:
		return false
	case old.UID == "" || old.ResourceVersion == "":
		return false
	}
	return old.UID == v.UID && old.ResourceVersion == v.ResourceVersion
}

// Converted is how many Vendors were converted to make this catalogue:
// all of them for NewCatalogue, the changed ones for With.
func (c *Catalogue) Converted() int {
	if c == nil {
		return 0
	}
	return c.converted
}

// Vendors returns the catalogue by name (shared: read only).
func (c *Catalogue) Vendors() map[string]*v1alpha1.Vendor {
	if c == nil {
		return nil
	}
	return c.vendors
}

// Len is the number of vendors in the catalogue.
func (c *Catalogue) Len() int {
	if c == nil {
		return 0
	}
	return len(c.vendors)
}
