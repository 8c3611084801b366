package policy

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
)

// The guards of limits.go that need more than a line, and the built-ins
// replaced outright because their work is not bounded by their output.

// verdict turns what the sizer found into a guard's answer: size is the
// length of the text the built-in would write, given the sizer's measure.
func (s *sizer) verdict(builtin string, size int64) error {
	switch {
	case s.stopped:
		return errCancelled(builtin)
	case s.overNodes:
		return errLimit{builtin: builtin, what: "a text", size: s.nodes, limit: s.nodes, atLeast: true, unit: " values"}
	case s.over:
		return errLimit{builtin: builtin, what: "a string", size: s.limit, limit: s.limit, atLeast: true}
	}
	return stringLimit(builtin, size)
}

// textLimit guards a built-in that writes the text of t, compact or
// indented with prefix and indent.
func textLimit(bctx topdown.BuiltinContext, builtin string, style textStyle, t *ast.Term, prefix, indent string, pretty bool) error {
	s := newSizer(style, MaxBuiltinString, MaxBuiltinElements, bctx.Cancel)
	m := s.size(t.Value)
	size := m.bytes
	if pretty {
		size = add(indented(m, prefix, indent), int64(len(prefix)))
	}
	return s.verdict(builtin, size)
}

// guardSprintf bounds sprintf's output: the format, each verb's width and
// precision (also those given as arguments, `%*d`), and the text of each
// argument, composite ones as %v writes them (shared parts expanded); when
// the format names arguments (`%[1]v`), each verb may write the longest.
func guardSprintf(bctx topdown.BuiltinContext, ops []*ast.Term) error {
	if len(ops) < 1 {
		return nil
	}
	format := str(ops[0])
	total := int64(len(format))
	for _, m := range widthPattern.FindAllStringSubmatch(format, -1) {
		for _, d := range m[1:] {
			if w, err := strconv.ParseInt(d, 10, 64); err == nil {
				total = add(total, w)
			} else if d != "" {
				total = add(total, MaxBuiltinString+1)
			}
		}
	}
	if len(ops) < 2 {
		return stringLimit(ast.Sprintf.Name, total)
	}
	s := newSizer(styleRego, MaxBuiltinString, MaxBuiltinElements, bctx.Cancel)
	var sum, longest int64
	each(ops[1], func(t *ast.Term) {
		var n int64
		switch v := t.Value.(type) {
		case ast.String:
			n = int64(len(v))
		case ast.Number:
			n = int64(len(v))*4 + 2 // %b of a decimal writes 3.3 digits a digit
			if strings.Contains(format, "*") {
				if w, ok := number(t); ok {
					n = add(n, abs(w))
				}
			}
		default:
			n = s.size(v).bytes
		}
		sum = add(sum, n)
		longest = max(longest, n)
	})
	if s.over || s.stopped {
		return s.verdict(ast.Sprintf.Name, 0)
	}
	if strings.Contains(format, "[") {
		total = add(total, times(int64(strings.Count(format, "%")), longest))
	} else {
		total = add(total, sum)
	}
	return stringLimit(ast.Sprintf.Name, total)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// pieces is how many parts split(s, delim) makes.
func pieces(s, delim string) int64 {
	if delim == "" {
		return int64(utf8.RuneCountInString(s))
	}
	return int64(strings.Count(s, delim)) + 1
}

// overlapping counts the occurrences of sub in s, overlapping ones too (as
// indexof_n finds them), stopping past the element limit.
func overlapping(s, sub string) int64 {
	var n int64
	for off := 0; n <= MaxBuiltinElements; {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			break
		}
		n++
		off += i + 1
	}
	return n
}

// regexLimit bounds what regex.split, regex.find_n and
// regex.find_all_string_submatch_n build: one element per match (each
// match of the latter an array of its groups), at most n matches when n is
// not negative.
func regexLimit(builtin, pattern, s string, n int64, submatch bool) error {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil // the built-in reports it
	}
	per := int64(1)
	if submatch {
		per = int64(re.NumSubexp()) + 2
	}
	matches := int64(len(s)) + 1 // the most any pattern can match
	if n >= 0 {
		matches = min(matches, n)
	}
	if times(matches, per) <= MaxBuiltinElements {
		return nil
	}
	limit := MaxBuiltinElements/per + 1
	if n >= 0 {
		limit = min(limit, n)
	}
	found := int64(len(re.FindAllStringIndex(s, int(limit))))
	return elementLimit(builtin, times(found, per))
}

// guardRegexReplace bounds regex.replace(s, pattern, value): each match
// replaced by value, whose $references each write at most the match.
func guardRegexReplace(_ topdown.BuiltinContext, ops []*ast.Term) error {
	if len(ops) < 3 {
		return nil
	}
	s, repl := str(ops[0]), str(ops[2])
	refs := int64(strings.Count(repl, "$"))
	n := int64(len(s))
	if add(n, add(times(n+1, int64(len(repl))), times(refs, n))) <= MaxBuiltinString {
		return nil
	}
	re, err := regexp.Compile(str(ops[1]))
	if err != nil {
		return nil // the built-in reports it
	}
	idx := re.FindAllStringIndex(s, MaxBuiltinElements+1)
	if len(idx) > MaxBuiltinElements {
		return errLimit{builtin: ast.RegexReplace.Name, what: "a string", size: MaxBuiltinElements, limit: MaxBuiltinElements, atLeast: true, unit: " replacements"}
	}
	total := n
	for _, m := range idx {
		total = add(total, add(int64(len(repl)), times(refs, int64(m[1]-m[0]))))
	}
	return stringLimit(ast.RegexReplace.Name, total)
}

// ratioLimit guards an encoding that writes at most num/den bytes a byte of
// its first operand.
func ratioLimit(builtin string, num, den int64) guard {
	return func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		return stringLimit(builtin, times(int64(len(str(ops[0]))), num)/den+4)
	}
}

// inputLimit guards a parser by the total length of its first n operands.
func inputLimit(builtin string, n int, limit int64) guard { //nolint:unparam // the parsers share MaxParseInput today
	return func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		var total int64
		for _, t := range ops[:min(n, len(ops))] {
			total += int64(len(str(t)))
		}
		if total > limit {
			return errLimit{builtin: builtin, what: "a syntax tree of a text", size: total, limit: limit, unit: " bytes"}
		}
		return nil
	}
}

func numberLimit(builtin string, bits int64) error {
	if bits > MaxBuiltinNumberBits {
		return errLimit{builtin: builtin, what: "an integer", size: bits, limit: MaxBuiltinNumberBits, unit: " bits"}
	}
	return nil
}

// bitLen estimates the bits of a number's integer part from its text
// (digits and exponent), without parsing the digits.
func bitLen(t *ast.Term) int64 {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0
	}
	s := strings.TrimLeft(string(n), "-+")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, _, _ := strings.Cut(mant, ".")
	digits := int64(len(strings.TrimLeft(intPart, "0")))
	if hasExp {
		e, err := strconv.ParseInt(exp, 10, 64)
		switch {
		case err != nil && !strings.HasPrefix(exp, "-"):
			return 1<<62 - 1
		case err != nil:
			return 0
		}
		digits = add(digits, max(e, -digits))
		if digits <= 0 {
			return 0
		}
		// mant's fraction digits are shifted in too
		if _, frac, ok := strings.Cut(mant, "."); ok {
			digits = add(digits, int64(len(frac)))
		}
	}
	return times(digits, 3322)/1000 + 1 // log2(10) ≈ 3.322
}

// --- replacements ---

// replacements are built-ins whose OPA implementation does work not bounded
// by what it returns: they are replaced by implementations that give the
// same results, do the same work once, and stop at the limits.
var replacements = map[string]topdown.BuiltinFunc{
	ast.ReachableBuiltin.Name:      reachable,
	ast.ReachablePathsBuiltin.Name: reachablePaths,
	ast.RenderTemplate.Name:        renderTemplate,
}

// vertices returns the initial vertices operand of graph.reachable*.
func vertices(t *ast.Term) ([]*ast.Term, error) {
	switch v := t.Value.(type) {
	case *ast.Array:
		out := make([]*ast.Term, 0, v.Len())
		v.Foreach(func(t *ast.Term) { out = append(out, t) })
		return out, nil
	case ast.Set:
		return v.Slice(), nil
	}
	return nil, builtins.NewOperandTypeErr(2, t.Value, "{array, set}")
}

func eachVertex(collection *ast.Term, f func(*ast.Term)) {
	switch v := collection.Value.(type) {
	case ast.Set:
		v.Foreach(f)
	case *ast.Array:
		v.Foreach(f)
	}
}

func edgeCount(collection *ast.Term) int {
	switch v := collection.Value.(type) {
	case ast.Set:
		return v.Len()
	case *ast.Array:
		return v.Len()
	}
	return 0
}

// reachable is graph.reachable: the vertices reachable from the initial
// ones. OPA's version queues a vertex again each time a path reaches it
// before it is visited (2^40 times for the last of 41 layers of two
// vertices); this one visits each vertex once.
func reachable(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
	graph, err := builtins.ObjectOperand(operands[0].Value, 1)
	if err != nil {
		return err
	}
	queue, err := vertices(operands[1])
	if err != nil {
		return err
	}
	reached := ast.NewSet()
	for steps := 0; len(queue) > 0; steps++ {
		if steps&1023 == 1023 && cancelled(bctx) {
			return errCancelled(ast.ReachableBuiltin.Name)
		}
		node := queue[0]
		queue = queue[1:]
		if reached.Contains(node) {
			continue
		}
		if edges := graph.Get(node); edges != nil {
			eachVertex(edges, func(neighbor *ast.Term) {
				if !reached.Contains(neighbor) {
					queue = append(queue, neighbor)
				}
			})
			reached.Add(node)
		}
	}
	return iter(ast.NewTerm(reached))
}

// paths builds graph.reachable_paths' result as OPA does (every path from
// an initial vertex, ending where it meets a vertex with no edges, a vertex
// not in the graph, or itself), counting the vertices of the paths it
// builds: a graph of 41 rungs has 2^41 paths, so it stops past the element
// limit (and when the evaluation is cancelled).
type paths struct {
	bctx   topdown.BuiltinContext
	graph  ast.Object
	result ast.Set
	work   int64
	err    error
}

func (p *paths) commit(path []*ast.Term) {
	p.result.Add(ast.ArrayTerm(path...))
}

func (p *paths) build(root *ast.Term, path []*ast.Term, reached ast.Set) {
	if p.err != nil {
		return
	}
	p.work += int64(len(path)) + 1
	if p.work > MaxBuiltinElements {
		p.err = errLimit{builtin: ast.ReachablePathsBuiltin.Name, what: "paths", size: MaxBuiltinElements, limit: MaxBuiltinElements, atLeast: true, unit: " vertices"}
		return
	}
	if p.work&1023 < int64(len(path))+1 && cancelled(p.bctx) {
		p.err = errCancelled(ast.ReachablePathsBuiltin.Name)
		return
	}
	edges := p.graph.Get(root)
	if edges == nil {
		p.commit(path) // not in the graph: the path without it
		return
	}
	path = append(path, root)
	if edgeCount(edges) == 0 {
		p.commit(path)
		return
	}
	reached = reached.Copy()
	reached.Add(root)
	eachVertex(edges, func(neighbor *ast.Term) {
		if p.err != nil {
			return
		}
		if reached.Contains(neighbor) {
			p.commit(path) // a cycle: the path so far
		} else {
			p.build(neighbor, append([]*ast.Term(nil), path...), reached)
		}
	})
}

// reachablePaths is graph.reachable_paths, bounded.
func reachablePaths(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
	graph, err := builtins.ObjectOperand(operands[0].Value, 1)
	if err != nil {
		return err
	}
	queue, err := vertices(operands[1])
	if err != nil {
		return err
	}
	p := &paths{bctx: bctx, graph: graph, result: ast.NewSet()}
	for _, node := range queue {
		edges := graph.Get(node)
		if edges == nil {
			continue
		}
		if edgeCount(edges) == 0 {
			p.result.Add(ast.ArrayTerm(node))
			continue
		}
		eachVertex(edges, func(neighbor *ast.Term) {
			p.build(neighbor, []*ast.Term{node}, ast.NewSet(node))
		})
		if p.err != nil {
			return p.err
		}
	}
	return iter(ast.NewTerm(p.result))
}

// limitedWriter is where strings.render_template writes: it refuses to
// hold more than MaxBuiltinString bytes, and stops when the evaluation is
// cancelled.
type limitedWriter struct {
	bctx      topdown.BuiltinContext
	buf       bytes.Buffer
	over      bool
	cancelled bool
}

var errStopWriting = fmt.Errorf("stop")

func (w *limitedWriter) Write(p []byte) (int, error) {
	if cancelled(w.bctx) {
		w.cancelled = true
		return 0, errStopWriting
	}
	if w.buf.Len()+len(p) > MaxBuiltinString {
		w.over = true
		return 0, errStopWriting
	}
	return w.buf.Write(p)
}

// renderTemplate is strings.render_template: its variables are measured
// before they are converted (shared parts expanded), its output is written
// into a limitedWriter, and the template functions that build a string
// before writing it (printf, print, println and the escapers) are bounded
// too. A template
// that loops without writing is bounded by nothing but its variables:
// text/template cannot be interrupted.
func renderTemplate(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
	const name = "strings.render_template"
	src, err := builtins.StringOperand(operands[0].Value, 1)
	if err != nil {
		return err
	}
	if err := stringLimit(name, int64(len(src))); err != nil {
		return err
	}
	vars, err := builtins.ObjectOperand(operands[1].Value, 2)
	if err != nil {
		return err
	}
	s := newSizer(styleJSON, MaxBuiltinString, MaxBuiltinElements, bctx.Cancel)
	varsBytes := s.size(vars).bytes
	if err := s.verdict(name, varsBytes); err != nil {
		return err
	}
	var data map[string]any
	if err := ast.As(vars, &data); err != nil {
		return err
	}
	escaper := func(escape func(string) string, ratio int64) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			text := fmt.Sprint(args...)
			if len(args) == 1 {
				if s, ok := args[0].(string); ok {
					text = s
				}
			}
			if err := stringLimit(name, times(int64(len(text)), ratio)); err != nil {
				return "", err
			}
			return escape(text), nil
		}
	}
	funcs := texttemplate.FuncMap{
		"printf": func(format string, args ...any) (string, error) {
			total := int64(len(format))
			for _, m := range widthPattern.FindAllStringSubmatch(format, -1) {
				for _, d := range m[1:] {
					if w, err := strconv.ParseInt(d, 10, 64); err == nil {
						total = add(total, w)
					} else if d != "" {
						total = add(total, MaxBuiltinString+1)
					}
				}
			}
			if strings.Contains(format, "*") {
				total = add(total, MaxBuiltinString+1)
			}
			total = add(total, times(int64(strings.Count(format, "%")), varsBytes))
			if err := stringLimit(name, total); err != nil {
				return "", err
			}
			return fmt.Sprintf(format, args...), nil
		},
		"print": func(args ...any) (string, error) {
			if err := stringLimit(name, times(int64(len(args)), varsBytes)); err != nil {
				return "", err
			}
			return fmt.Sprint(args...), nil
		},
		"println": func(args ...any) (string, error) {
			if err := stringLimit(name, times(int64(len(args)), varsBytes)); err != nil {
				return "", err
			}
			return fmt.Sprintln(args...), nil
		},
		"html":     escaper(texttemplate.HTMLEscapeString, 6),
		"js":       escaper(texttemplate.JSEscapeString, 6),
		"urlquery": escaper(url.QueryEscape, 3),
	}
	tmpl, err := texttemplate.New("template").Funcs(funcs).Parse(string(src))
	if err != nil {
		return err
	}
	w := &limitedWriter{bctx: bctx}
	err = tmpl.Execute(w, data)
	switch {
	case w.cancelled:
		return errCancelled(name)
	case w.over:
		return errLimit{builtin: name, what: "a string", size: MaxBuiltinString, limit: MaxBuiltinString, atLeast: true}
	case err != nil:
		var lim errLimit
		if errors.As(err, &lim) {
			return lim
		}
		return err
	}
	return iter(ast.StringTerm(strings.ReplaceAll(w.buf.String(), "<no value>", "<undefined>")))
}
