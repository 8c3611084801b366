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
type Catalogue struct {
	vendors map[string]*v1alpha1.Vendor
	term    *ast.Term // input.vendors: name -> the Vendor as stored
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
		var obj *input.Object
		var err error
		if cache != nil {
			obj, err = cache.Object(v)
		} else {
			obj, err = input.TypedObject(v)
		}
		if err != nil {
			return nil, fmt.Errorf("policy: converting Vendor %q: %w", name, err)
		}
		pairs = append(pairs, ast.Item(ast.StringTerm(name), ast.NewTerm(obj.Value)))
	}
	if vendors == nil {
		vendors = map[string]*v1alpha1.Vendor{}
	}
	return &Catalogue{vendors: vendors, term: ast.ObjectTerm(pairs...)}, nil
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
