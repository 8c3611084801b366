package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Memory limits on one evaluation. The time budget bounds how long a policy
// runs, not what one built-in call allocates: OPA checks for cancellation
// between expressions, never inside a built-in, so `json.marshal` of a value
// that expands to 10^9 numbers, or `graph.reachable_paths` of a graph with
// 2^41 paths, runs for minutes and takes gigabytes whatever the budget. So
// every built-in whose output can be far larger than its input is guarded:
// a call whose result would pass a limit fails before it allocates, and the
// policy gets an `error` result naming it (as for a time out). The guards
// measure what the built-in would build (values shared by several parents
// counted as often as they appear, see sizer), not the strings it is given,
// and the measuring itself stops at the limit and honours the time budget.
// Growth that is gradual (a comprehension building many values) is bounded
// by the time budget.
const (
	// MaxBuiltinString is the longest string a guarded built-in may build
	// (concat, sprintf, json.marshal, json.marshal_with_options,
	// yaml.marshal, strings.replace_n, replace, regex.replace,
	// strings.render_template, base64/hex/urlquery encodings, format_int;
	// json.unmarshal and yaml.unmarshal inputs) and the longest text of a
	// value a marshalling built-in may write.
	MaxBuiltinString = 16 << 20
	// MaxBuiltinElements is the most elements a guarded built-in may build
	// (numbers.range, numbers.range_step, array.concat, array.flatten,
	// split, strings.split_n, indexof_n, regex.split, regex.find_n,
	// regex.find_all_string_submatch_n, the paths of
	// graph.reachable_paths), and the most values a marshalling built-in
	// may write (json.marshal, sprintf's %v, ...).
	MaxBuiltinElements = 1 << 20
	// MaxBuiltinNumberBits is the largest integer, in bits, that bits.lsh
	// may build and format_int may write.
	MaxBuiltinNumberBits = 1 << 20
	// MaxParseInput is the longest text rego.parse_module and the
	// graphql.* parsers may read: their syntax trees are tens of times
	// the size of the text.
	MaxParseInput = 1 << 20
	// MaxMessage is the longest text of a violation that is not a string
	// (an object's msg that is itself an object, say): past it, the
	// result's message says so instead of showing the value.
	MaxMessage = 1 << 20
)

// errLimit is a guarded built-in refusing to build too much.
type errLimit struct {
	builtin string
	what    string
	size    int64
	limit   int64
	atLeast bool   // size is where measuring stopped: the output is larger
	unit    string // of size and limit, when not bytes or elements: " values"
}

func (e errLimit) Error() string {
	size := fmt.Sprint(e.size)
	switch {
	case e.atLeast:
		size = "more than " + size
	case e.size >= 1<<62-1:
		size = "more than 2^62"
	}
	return fmt.Sprintf("%s would build %s of %s%s, over the limit of %d%s", e.builtin, e.what, size, e.unit, e.limit, e.unit)
}

var guardOnce sync.Once

// replaced are OPA's implementations of the replaced built-ins, for the
// tests that compare them with ours.
var replaced = map[string]topdown.BuiltinFunc{}

// guard checks a call's operands before the built-in runs.
type guard func(bctx topdown.BuiltinContext, ops []*ast.Term) error

// installGuards wraps the guarded built-ins of OPA's (process-wide)
// registry, and replaces those whose work is not bounded by their output
// (graph.reachable, graph.reachable_paths, strings.render_template), once,
// before the first engine evaluates: every engine of the process, hence
// every door (GuardrailPolicy, ConstraintTemplate, built-ins), has the same
// limits.
func installGuards() {
	guardOnce.Do(func() {
		for name, impl := range replacements {
			orig := topdown.GetBuiltin(name)
			if orig == nil {
				panic("policy: no OPA built-in " + name + " to replace")
			}
			replaced[name] = orig
			topdown.RegisterBuiltinFunc(name, halting(impl))
		}
		for name, check := range guards {
			orig := topdown.GetBuiltin(name)
			if orig == nil {
				panic("policy: no OPA built-in " + name + " to guard")
			}
			topdown.RegisterBuiltinFunc(name, func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
				if err := check(bctx, operands); err != nil {
					return halt(err)
				}
				return orig(bctx, operands, iter)
			})
		}
	})
}

// halt makes a refusal end the evaluation with an error (an error result),
// where a plain built-in error would only make the expression undefined.
func halt(err error) error {
	// OPA's evaluator tests err.(topdown.Halt) itself, unwrapped
	// (topdown/eval.go); a Halt found by errors.As inside another error
	// would not halt it, so this tests the same way.
	if _, ok := err.(topdown.Halt); ok { //nolint:errorlint // must match OPA's own unwrapped test, see above
		return err
	}
	return topdown.Halt{Err: err}
}

// halting makes a replacement's refusals halt the evaluation.
func halting(f topdown.BuiltinFunc) topdown.BuiltinFunc {
	return func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
		err := f(bctx, operands, iter)
		var lim errLimit
		if errors.As(err, &lim) || isCancel(err) {
			return halt(err)
		}
		return err
	}
}

// errCancelled is a guard that stopped measuring because the evaluation was
// cancelled (its time budget ran out).
func errCancelled(builtin string) error {
	return &topdown.Error{Code: topdown.CancelErr, Message: builtin + ": timed out before finishing"}
}

func isCancel(err error) bool {
	var te *topdown.Error
	return errors.As(err, &te) && te.Code == topdown.CancelErr
}

func cancelled(bctx topdown.BuiltinContext) bool {
	return bctx.Cancel != nil && bctx.Cancel.Cancelled()
}

// guards check a call's operands before the built-in runs.
var guards = map[string]guard{
	ast.Concat.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		delim := int64(len(str(ops[0])))
		var n, total int64
		each(ops[1], func(t *ast.Term) {
			n++
			total = add(total, int64(len(str(t))))
		})
		if n > 1 {
			total = add(total, times(delim, n-1))
		}
		return stringLimit(ast.Concat.Name, total)
	},
	ast.Sprintf.Name: guardSprintf,
	ast.ReplaceN.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		s := str(ops[1])
		total := int64(len(s))
		if pat, ok := ops[0].Value.(ast.Object); ok {
			pat.Foreach(func(k, v *ast.Term) {
				total = add(total, growth(s, str(k), str(v)))
			})
		}
		return stringLimit(ast.ReplaceN.Name, total)
	},
	ast.Replace.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		s := str(ops[0])
		return stringLimit(ast.Replace.Name, add(int64(len(s)), growth(s, str(ops[1]), str(ops[2]))))
	},
	ast.JSONUnmarshal.Name: firstStringLimit(ast.JSONUnmarshal.Name),
	ast.YAMLUnmarshal.Name: firstStringLimit(ast.YAMLUnmarshal.Name),
	ast.NumbersRange.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		return elementLimit(ast.NumbersRange.Name, span(ops[0], ops[1], 1))
	},
	ast.NumbersRangeStep.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		step, ok := number(ops[2])
		if !ok || step <= 0 {
			return nil // the built-in reports a bad step itself
		}
		return elementLimit(ast.NumbersRangeStep.Name, span(ops[0], ops[1], step))
	},
	ast.ArrayConcat.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		var n int64
		for _, t := range ops[:2] {
			if a, ok := t.Value.(*ast.Array); ok {
				n += int64(a.Len())
			}
		}
		return elementLimit(ast.ArrayConcat.Name, n)
	},
	ast.ArrayFlatten.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		var n int64
		each(ops[0], func(t *ast.Term) {
			if a, ok := t.Value.(*ast.Array); ok {
				n = add(n, int64(a.Len()))
			} else {
				n = add(n, 1)
			}
		})
		return elementLimit(ast.ArrayFlatten.Name, n)
	},

	// Marshalling: the text of the whole value, shared parts expanded.
	ast.JSONMarshal.Name: func(bctx topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		return textLimit(bctx, ast.JSONMarshal.Name, styleJSON, ops[0], "", "", false)
	},
	ast.JSONMarshalWithOptions.Name: func(bctx topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		prefix, indent, pretty := "", "\t", false
		explicit, implicit := false, false
		if opts, ok := ops[1].Value.(ast.Object); ok {
			opts.Foreach(func(k, v *ast.Term) {
				switch str(k) {
				case "prefix":
					prefix, implicit = str(v), true
				case "indent":
					indent, implicit = str(v), true
				case "pretty":
					b, _ := v.Value.(ast.Boolean)
					pretty, explicit = bool(b), true
				}
			})
		}
		if !explicit {
			pretty = implicit
		}
		return textLimit(bctx, ast.JSONMarshalWithOptions.Name, styleJSON, ops[0], prefix, indent, pretty)
	},
	// yaml.marshal writes JSON first, then YAML (indented by two, about
	// the size of indented JSON), through trees of several hundred bytes
	// a value: a quarter of the values json.marshal may write.
	ast.YAMLMarshal.Name: func(bctx topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		s := newSizer(styleJSON, MaxBuiltinString, MaxBuiltinElements/4, bctx.Cancel)
		m := s.size(ops[0].Value)
		return s.verdict(ast.YAMLMarshal.Name, indented(m, "", "    "))
	},

	// Splitting: one element per match.
	ast.Split.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		return elementLimit(ast.Split.Name, pieces(str(ops[0]), str(ops[1])))
	},
	ast.SplitN.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		n := pieces(str(ops[0]), str(ops[1]))
		if k, ok := number(ops[2]); ok && k >= 0 && k < n {
			n = k
		}
		return elementLimit(ast.SplitN.Name, n)
	},
	ast.IndexOfN.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 || str(ops[1]) == "" {
			return nil
		}
		return elementLimit(ast.IndexOfN.Name, overlapping(str(ops[0]), str(ops[1])))
	},
	ast.RegexSplit.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		return regexLimit(ast.RegexSplit.Name, str(ops[0]), str(ops[1]), -1, false)
	},
	ast.RegexFind.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		n, _ := number(ops[2])
		return regexLimit(ast.RegexFind.Name, str(ops[0]), str(ops[1]), n, false)
	},
	ast.RegexFindAllStringSubmatch.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		n, _ := number(ops[2])
		return regexLimit(ast.RegexFindAllStringSubmatch.Name, str(ops[0]), str(ops[1]), n, true)
	},
	ast.RegexReplace.Name: guardRegexReplace,

	// Encodings: a fixed ratio of their input.
	ast.HexEncode.Name:            ratioLimit(ast.HexEncode.Name, 2, 1),
	ast.Base64Encode.Name:         ratioLimit(ast.Base64Encode.Name, 4, 3),
	ast.Base64UrlEncode.Name:      ratioLimit(ast.Base64UrlEncode.Name, 4, 3),
	ast.Base64UrlEncodeNoPad.Name: ratioLimit(ast.Base64UrlEncodeNoPad.Name, 4, 3),
	ast.URLQueryEncode.Name:       ratioLimit(ast.URLQueryEncode.Name, 3, 1),
	ast.URLQueryEncodeObject.Name: func(bctx topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		s := newSizer(styleJSON, MaxBuiltinString/3, MaxBuiltinElements, bctx.Cancel)
		m := s.size(ops[0].Value)
		return s.verdict(ast.URLQueryEncodeObject.Name, times(m.bytes, 3))
	},

	// Numbers.
	ast.BitsShiftLeft.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		shift, ok := number(ops[1])
		if !ok || shift < 0 {
			return nil // the built-in reports it
		}
		return numberLimit(ast.BitsShiftLeft.Name, add(bitLen(ops[0]), shift))
	},
	ast.FormatInt.Name: func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		return numberLimit(ast.FormatInt.Name, bitLen(ops[0]))
	},

	// Parsers whose trees are many times their text.
	ast.RegoParseModule.Name:       inputLimit(ast.RegoParseModule.Name, 1, MaxParseInput),
	ast.GraphQLParse.Name:          inputLimit(ast.GraphQLParse.Name, 2, MaxParseInput),
	ast.GraphQLParseAndVerify.Name: inputLimit(ast.GraphQLParseAndVerify.Name, 2, MaxParseInput),
	ast.GraphQLParseQuery.Name:     inputLimit(ast.GraphQLParseQuery.Name, 1, MaxParseInput),
	ast.GraphQLParseSchema.Name:    inputLimit(ast.GraphQLParseSchema.Name, 1, MaxParseInput),
	ast.GraphQLIsValid.Name:        inputLimit(ast.GraphQLIsValid.Name, 2, MaxParseInput),
	ast.GraphQLSchemaIsValid.Name:  inputLimit(ast.GraphQLSchemaIsValid.Name, 1, MaxParseInput),
}

// firstStringLimit guards a built-in by the length of its first operand
// (its input, which bounds what it builds).
func firstStringLimit(builtin string) guard {
	return func(_ topdown.BuiltinContext, ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		return stringLimit(builtin, int64(len(str(ops[0]))))
	}
}

// widthPattern finds the width and precision of each verb of a format.
var widthPattern = regexp.MustCompile(`%[-+# 0]*(\d*)(?:\.(\d*))?[a-zA-Z%]`)

func stringLimit(builtin string, n int64) error {
	if n > MaxBuiltinString {
		return errLimit{builtin: builtin, what: "a string", size: n, limit: MaxBuiltinString}
	}
	return nil
}

func elementLimit(builtin string, n int64) error {
	if n > MaxBuiltinElements {
		return errLimit{builtin: builtin, what: "a collection", size: n, limit: MaxBuiltinElements}
	}
	return nil
}

// growth is how much replacing every old by repl in s adds.
func growth(s, old, repl string) int64 {
	if len(repl) <= len(old) {
		return 0
	}
	if old == "" {
		return int64(len(s)+1) * int64(len(repl))
	}
	return int64(strings.Count(s, old)) * int64(len(repl)-len(old))
}

// span is how many numbers from a to b by step.
func span(a, b *ast.Term, step int64) int64 {
	x, okA := number(a)
	y, okB := number(b)
	if !okA || !okB {
		return 0
	}
	d := y - x
	if d < 0 {
		d = -d
	}
	if d < 0 { // overflow
		return MaxBuiltinElements + 1
	}
	return d/step + 1
}

func number(t *ast.Term) (int64, bool) {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, false
	}
	if i, ok := n.Int64(); ok {
		return i, true
	}
	if f, ok := n.Float64(); ok {
		if f > 1e18 || f < -1e18 {
			return int64(MaxBuiltinElements) * 4, true // surely too big
		}
		return int64(f), true
	}
	return 0, false
}

func str(t *ast.Term) string {
	if s, ok := t.Value.(ast.String); ok {
		return string(s)
	}
	return ""
}

// each calls f on the elements of an array or set.
func each(t *ast.Term, f func(*ast.Term)) {
	switch v := t.Value.(type) {
	case *ast.Array:
		v.Foreach(f)
	case ast.Set:
		v.Foreach(f)
	}
}
