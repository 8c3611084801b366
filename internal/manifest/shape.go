package manifest

// Quick passes over an object for the steps of admit that walk all of it
// with the structural schema: pruning, defaulting, list-type validation
// and the coercion of metadata (k8s.io/apiextensions-apiserver's pruning,
// defaulting, listtype and objectmeta packages). Those walks build a field
// path for every key and copy the schema of every property they visit:
// about a fifth of the cost of reading our objects, to find, for nearly
// every document, nothing to do. A shape is the structural schema of a
// kind compiled once into a tree of pointers, knowing which subtrees hold
// defaults and list types; with it admit tells "nothing to do" without a
// path or a copy, and calls the library whenever there may be something
// (to prune, to coerce, an error to report), so that what is done and
// every message stay the library's. TestShapeAgreesWithTheLibrary checks
// each pass against the library on thousands of changed objects.

import (
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/runtime"
)

// shape is one node of a structural schema.
type shape struct {
	props map[string]*shape
	// additionalSet: additionalProperties is given; additional is its
	// schema, nil when there is none (additionalProperties: true).
	additionalSet bool
	additional    *shape
	items         *shape

	preserveUnknown bool
	embedded        bool
	nullable        bool

	def    any // the default, nil when there is none
	hasDef bool
	// defaultsBelow: this node or one below it has a default.
	defaultsBelow bool

	listType    string // "set", "map" or ""
	listMapKeys []string
	// listsBelow: this node or one below it is a list of type set or map.
	listsBelow bool
	// embeddedBelow: a node below this one is an embedded resource.
	embeddedBelow bool
}

func newShape(s *structuralschema.Structural) *shape {
	if s == nil {
		return nil
	}
	n := &shape{
		preserveUnknown: s.XPreserveUnknownFields,
		embedded:        s.XEmbeddedResource,
		nullable:        s.Nullable,
		def:             s.Default.Object,
		hasDef:          s.Default.Object != nil,
		listMapKeys:     s.XListMapKeys,
	}
	if s.XListType != nil && (*s.XListType == "set" || *s.XListType == "map") {
		n.listType = *s.XListType
	}
	n.defaultsBelow, n.listsBelow = n.hasDef, n.listType != ""
	below := func(c *shape) {
		if c != nil {
			n.defaultsBelow = n.defaultsBelow || c.defaultsBelow
			n.listsBelow = n.listsBelow || c.listsBelow
			n.embeddedBelow = n.embeddedBelow || c.embedded || c.embeddedBelow
		}
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*shape, len(s.Properties))
		for k, p := range s.Properties {
			c := newShape(&p)
			n.props[k] = c
			below(c)
		}
	}
	if s.AdditionalProperties != nil {
		n.additionalSet = true
		n.additional = newShape(s.AdditionalProperties.Structural)
		below(n.additional)
	}
	n.items = newShape(s.Items)
	below(n.items)
	return n
}

// metaFields are the fields of an embedded resource that pruning keeps.
var metaFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

// prunes reports whether pruning.PruneWithOptions(x, schema, root, ...)
// would delete anything from x (it changes nothing else, and reports only
// what it deletes). As the library's prune and skipPrune.
func (n *shape) prunes(x any, root bool) bool {
	embedded := n != nil && (n.embedded || root)
	if n != nil && n.preserveUnknown {
		return n.skipPrunes(x, embedded)
	}
	switch x := x.(type) {
	case map[string]any:
		if n == nil {
			return len(x) > 0
		}
		for k, v := range x {
			if embedded && metaFields[k] {
				continue
			}
			if p, ok := n.props[k]; ok {
				if p.prunes(v, false) {
					return true
				}
			} else if n.additionalSet {
				if n.additional.prunes(v, false) {
					return true
				}
			} else {
				return true
			}
		}
	case []any:
		var items *shape
		if n != nil {
			items = n.items
		}
		for _, v := range x {
			if items.prunes(v, false) {
				return true
			}
		}
	}
	return false
}

func (n *shape) skipPrunes(x any, embedded bool) bool {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			if embedded && metaFields[k] {
				continue
			}
			if p, ok := n.props[k]; ok {
				if p.prunes(v, false) {
					return true
				}
			} else if n.additionalSet && n.additional.prunes(v, false) {
				return true
			}
		}
	case []any:
		if n.items == nil {
			return false
		}
		for _, v := range x {
			if n.items.skipPrunes(v, n.items.embedded) {
				return true
			}
		}
	}
	return false
}

// applyDefaults is defaulting.Default(x, schema), skipping the subtrees
// that hold no default (where Default changes nothing).
func (n *shape) applyDefaults(x any) {
	if n == nil || !n.defaultsBelow {
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for k, p := range n.props {
			if !p.hasDef {
				continue
			}
			if v, found := x[k]; !found || v == nil && !p.nullable {
				x[k] = runtime.DeepCopyJSONValue(p.def)
			}
		}
		for k, v := range x {
			if p, found := n.props[k]; found {
				p.applyDefaults(v)
			} else if n.additionalSet {
				if a := n.additional; a != nil && v == nil && !a.nullable {
					x[k] = runtime.DeepCopyJSONValue(a.def)
				}
				n.additional.applyDefaults(x[k])
			}
		}
	case []any:
		for i := range x {
			if it := n.items; it != nil && x[i] == nil && !it.nullable {
				x[i] = runtime.DeepCopyJSONValue(it.def)
			}
			n.items.applyDefaults(x[i])
		}
	}
}

// listsOK reports that listtype.ValidateListSetsAndMaps(nil, schema, x)
// finds no error: no duplicate in a list of type set, no duplicate key in
// a list of type map (of one key), every item of a map list an object. It
// says false when it cannot tell (items that are objects or lists in a
// set, several keys).
func (n *shape) listsOK(x map[string]any) bool {
	if n == nil || x == nil || !n.listsBelow {
		return true
	}
	for k, v := range x {
		if n.additionalSet && n.additional != nil && !n.additional.valueListsOK(v) {
			return false
		}
		if p, ok := n.props[k]; ok && !p.valueListsOK(v) {
			return false
		}
	}
	return true
}

func (n *shape) valueListsOK(v any) bool {
	if !n.listsBelow {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		return n.listsOK(v)
	case []any:
		switch n.listType {
		case "set":
			if !uniqueScalars(len(v), func(i int) any { return v[i] }) {
				return false
			}
		case "map":
			if len(n.listMapKeys) != 1 {
				return false
			}
			key := n.listMapKeys[0]
			for _, it := range v {
				if m, ok := it.(map[string]any); !ok {
					return false
				} else if _, ok := m[key]; !ok {
					return false
				}
			}
			if !uniqueScalars(len(v), func(i int) any { m, _ := v[i].(map[string]any); return m[key] }) {
				return false
			}
		}
		if n.items != nil {
			for _, it := range v {
				if !n.items.valueListsOK(it) {
					return false
				}
			}
		}
	}
	return true
}

// uniqueScalars reports that the n values of at are scalars (strings,
// numbers, booleans, nulls) and no two are equal as map keys.
func uniqueScalars(n int, at func(int) any) bool {
	if n <= 1 {
		return true
	}
	seen := make(map[any]struct{}, n)
	for i := range n {
		v := at(i)
		switch v.(type) {
		case nil, string, int64, float64, bool:
		default:
			return false
		}
		if _, dup := seen[v]; dup {
			return false
		}
		seen[v] = struct{}{}
	}
	return true
}
