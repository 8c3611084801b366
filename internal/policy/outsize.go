package policy

import (
	"reflect"
	"unicode/utf8"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Rego values are DAGs: `a1 := [a0, a0, a0]` holds a0 three times without
// copying it, so seven lines of Rego build a value of 10^9 numbers in a few
// kilobytes. Whatever prints such a value (json.marshal, sprintf's %v, a
// violation message) expands every shared part as often as it appears. A
// sizer measures that expansion without doing it: each distinct composite
// value is measured once and its measure reused wherever it is shared, and
// the measuring stops as soon as it passes its limit.

// textStyle is how a value is written.
type textStyle int

const (
	styleJSON textStyle = iota // encoding/json, as json.marshal writes it
	styleRego                  // ast.Value.String, as sprintf's %v writes it
)

// measure is the size of a value's text: bytes in compact form, the values
// it holds (itself included), and for indented forms the lines it takes and
// the sum of those lines' depths below it.
type measure struct {
	bytes, nodes, lines, depths int64
}

// sizer measures values; one per built-in call.
type sizer struct {
	style     textStyle
	limit     int64 // bytes: past it, measuring stops
	nodes     int64 // values: past it, measuring stops
	cancel    topdown.Cancel
	memo      map[any]measure
	strs      map[strKey]int64
	visits    int
	over      bool // a limit was passed
	overNodes bool // the limit of values
	stopped   bool // cancelled
}

type strKey struct {
	p *byte
	n int
}

func newSizer(style textStyle, limit, nodes int64, cancel topdown.Cancel) *sizer {
	return &sizer{style: style, limit: limit, nodes: nodes, cancel: cancel}
}

// add adds b to a, saturating: measures of shared values multiply fast.
func add(a, b int64) int64 {
	if s := a + b; s >= a && s >= b {
		return s
	}
	return 1<<62 - 1
}

// times is a·n, saturating.
func times(a, n int64) int64 {
	if a == 0 || n == 0 {
		return 0
	}
	if a > (1<<62)/n {
		return 1<<62 - 1
	}
	return a * n
}

// size measures v. When it returns, s.over says whether the text would pass
// s.limit bytes or s.nodes values and s.stopped whether the evaluation was
// cancelled meanwhile; the measure is then a lower bound.
func (s *sizer) size(v ast.Value) measure {
	if s.over || s.stopped {
		return measure{}
	}
	s.visits++
	if s.visits&1023 == 0 && s.cancel != nil && s.cancel.Cancelled() {
		s.stopped = true
		return measure{}
	}
	var key any
	switch v.(type) {
	case *ast.Array, ast.Object, ast.Set:
		if reflect.TypeOf(v).Kind() == reflect.Pointer {
			key = v
			if m, ok := s.memo[key]; ok {
				return m
			}
			if s.memo == nil {
				s.memo = make(map[any]measure)
			}
		}
	}
	var m measure
	switch x := v.(type) {
	case ast.Null:
		m = measure{bytes: 4}
	case ast.Boolean:
		m = measure{bytes: 5}
	case ast.Number:
		m = measure{bytes: int64(len(x))}
	case ast.String:
		m = measure{bytes: s.quoted(string(x))}
	case *ast.Array:
		m = s.collection(x.Len(), func(f func(*ast.Term)) { x.Foreach(f) }, nil)
	case ast.Set:
		m = s.collection(x.Len(), x.Foreach, nil)
		if s.style == styleRego && x.Len() == 0 {
			m.bytes = 5 // set()
		}
	case ast.Object:
		m = s.collection(x.Len(), nil, func(f func(k, v *ast.Term)) { x.Foreach(f) })
	default: // a var, ref or call in a partially evaluated value: as written
		m = measure{bytes: int64(len(v.String()))}
	}
	m.nodes = add(m.nodes, 1)
	m.lines = add(m.lines, 1)
	s.check(m)
	if key != nil {
		s.memo[key] = m
	}
	return m
}

func (s *sizer) check(m measure) {
	if m.nodes > s.nodes {
		s.over, s.overNodes = true, true
	} else if m.bytes > s.limit {
		s.over = true
	}
}

// collection measures an array or set (each) or an object (pairs) of n
// elements: brackets, separators, and each element one level deeper.
func (s *sizer) collection(n int, each func(func(*ast.Term)), pairs func(func(k, v *ast.Term))) measure {
	m := measure{bytes: 2}
	if n > 1 {
		sep := int64(1) // ","
		if s.style == styleRego {
			sep = 2 // ", "
		}
		m.bytes = add(m.bytes, times(sep, int64(n-1)))
	}
	child := func(c measure) {
		m.bytes = add(m.bytes, c.bytes)
		m.nodes = add(m.nodes, c.nodes)
		m.lines = add(m.lines, c.lines)
		m.depths = add(m.depths, add(c.depths, c.lines))
		s.check(m)
	}
	if each != nil {
		each(func(t *ast.Term) {
			if !s.over && !s.stopped {
				child(s.size(t.Value))
			}
		})
		return m
	}
	pairs(func(k, v *ast.Term) {
		if s.over || s.stopped {
			return
		}
		km := s.size(k.Value)
		child(s.size(v.Value))
		m.bytes = add(m.bytes, add(km.bytes, 2)) // the key and ": "
		m.nodes = add(m.nodes, km.nodes)
	})
	return m
}

// quoted is the length of s quoted as encoding/json does (the longest of
// the quotings: strconv.Quote, used for %v, escapes about as much); the
// length of a long string shared many times is computed once.
func (s *sizer) quoted(str string) int64 {
	if len(str) < 256 {
		return quotedLen(str)
	}
	k := strKey{unsafe.StringData(str), len(str)} //nolint:gosec // the string's identity (shared by reference in the value), never dereferenced
	if n, ok := s.strs[k]; ok {
		return n
	}
	if s.strs == nil {
		s.strs = make(map[strKey]int64)
	}
	n := quotedLen(str)
	s.strs[k] = n
	return n
}

func quotedLen(str string) int64 {
	n := int64(2)
	for i := 0; i < len(str); {
		c := str[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(str[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += int64(w)
		}
		i += w
	}
	return n
}

// indented is the length of m's text indented as json.MarshalIndent does,
// the value at depth 0: every line has a newline, the prefix and one indent
// per level.
func indented(m measure, prefix, indent string) int64 {
	return add(add(m.bytes, times(m.lines, int64(1+len(prefix)))), times(m.depths, int64(len(indent))))
}
