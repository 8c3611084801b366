package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// JSONValue converts x, a typed API object or part of one, to the AST value
// of its JSON encoding: the same value as runtime.DefaultUnstructuredConverter
// followed by ast.InterfaceToValue give (both follow the json tags and the
// types' own encodings of times and quantities), with half the allocations,
// since no map[string]any is built in between. Used for the catalogue
// objects a request carries (vendors, integrations, the standard), which
// every evaluation of a workload converts unless the conversion cache holds
// them.
//
// Figures (allocations per op, before → after): BenchmarkEvaluateIntegration
// 1,982 → 1,668, BenchmarkEngineOverhead 2,536 → 2,086; docs/policies.md.
func JSONValue(x any) (ast.Value, error) {
	data, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	d := jsonDecoder{data: data, text: string(data)}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.skipSpace(); d.pos != len(d.data) {
		return nil, d.fail("trailing data")
	}
	return v, nil
}

// jsonDecoder reads the output of json.Marshal (valid, compact JSON).
type jsonDecoder struct {
	data []byte
	text string // data as one string: every string without escapes is a slice of it
	pos  int
	// terms is a slab the scalar terms are carved from, a few allocations
	// for all of them.
	terms []ast.Term
	// pairs and elems are stacks shared by the nested objects and arrays
	// being read, so that each one allocates only its own value.
	pairs [][2]*ast.Term
	elems []*ast.Term
}

var errJSONEnd = errors.New("unexpected end of JSON")

func (d *jsonDecoder) fail(what string) error {
	return fmt.Errorf("policy: converting JSON at offset %d: %s", d.pos, what)
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (ast.Value, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, errJSONEnd
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return ast.String(s), nil
	case c == 't' && strings.HasPrefix(string(d.data[d.pos:min(d.pos+4, len(d.data))]), "true"):
		d.pos += 4
		return ast.Boolean(true), nil
	case c == 'f' && strings.HasPrefix(string(d.data[d.pos:min(d.pos+5, len(d.data))]), "false"):
		d.pos += 5
		return ast.Boolean(false), nil
	case c == 'n' && strings.HasPrefix(string(d.data[d.pos:min(d.pos+4, len(d.data))]), "null"):
		d.pos += 4
		return ast.Null{}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.pos
		for d.pos < len(d.data) && strings.IndexByte("+-.eE0123456789", d.data[d.pos]) >= 0 {
			d.pos++
		}
		return ast.Number(d.text[start:d.pos]), nil
	}
	return nil, d.fail(fmt.Sprintf("unexpected %q", d.data[d.pos]))
}

// term wraps v, sharing OPA's interned terms for common scalars.
func (d *jsonDecoder) term(v ast.Value) *ast.Term {
	switch x := v.(type) {
	case ast.Boolean:
		return ast.InternedTerm(bool(x))
	case ast.Null:
		return ast.InternedNullTerm
	case ast.String:
		if ast.HasInternedValue(string(x)) {
			return ast.InternedTerm(string(x))
		}
	}
	if len(d.terms) == 0 {
		d.terms = make([]ast.Term, 32)
	}
	t := &d.terms[0]
	d.terms = d.terms[1:]
	t.Value = v
	return t
}

// keyTerms are the terms of object keys seen so far (field names, label
// keys), shared by every conversion: a key costs no allocation once seen.
// Bounded: when full, new keys are not remembered.
var keyTerms = struct {
	sync.RWMutex
	m map[string]*ast.Term
}{m: make(map[string]*ast.Term)}

const maxKeyTerms = 4096

func (d *jsonDecoder) key(k string) *ast.Term {
	keyTerms.RLock()
	t, ok := keyTerms.m[k]
	keyTerms.RUnlock()
	if ok {
		return t
	}
	k = strings.Clone(k) // the key and the term share it, not the decoder's buffer
	t = ast.StringTerm(k)
	keyTerms.Lock()
	if len(keyTerms.m) < maxKeyTerms {
		keyTerms.m[k] = t
	}
	keyTerms.Unlock()
	return t
}

func (d *jsonDecoder) object() (ast.Value, error) {
	d.pos++ // {
	base := len(d.pairs)
	defer func() { d.pairs = d.pairs[:base] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, errJSONEnd
		}
		if d.data[d.pos] == '}' {
			d.pos++
			return ast.NewObject(d.pairs[base:]...), nil
		}
		if len(d.pairs) > base {
			if d.data[d.pos] != ',' {
				return nil, d.fail("want , or }")
			}
			d.pos++
			d.skipSpace()
		}
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.fail("want a key")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.fail("want :")
		}
		d.pos++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.pairs = append(d.pairs, [2]*ast.Term{d.key(k), d.term(v)})
	}
}

func (d *jsonDecoder) array() (ast.Value, error) {
	d.pos++ // [
	base := len(d.elems)
	defer func() { d.elems = d.elems[:base] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, errJSONEnd
		}
		if d.data[d.pos] == ']' {
			d.pos++
			// An Array keeps the slice it is given: its own copy.
			return ast.NewArray(slices.Clone(d.elems[base:])...), nil
		}
		if len(d.elems) > base {
			if d.data[d.pos] != ',' {
				return nil, d.fail("want , or ]")
			}
			d.pos++
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, d.term(v))
	}
}

// str reads a string; only one with escapes goes through encoding/json.
func (d *jsonDecoder) str() (string, error) {
	start := d.pos
	d.pos++ // "
	escaped := false
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '\\':
			escaped = true
			d.pos += 2
			continue
		case '"':
			d.pos++
			if !escaped {
				return d.text[start+1 : d.pos-1], nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil {
				return "", d.fail(err.Error())
			}
			return s, nil
		}
		d.pos++
	}
	return "", errJSONEnd
}
