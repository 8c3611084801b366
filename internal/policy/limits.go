package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Memory limits on one evaluation. The time budget bounds how long a policy
// runs, not what one built-in call allocates: `concat` of a 3 GB result, or
// `numbers.range(1, 1e10)`, is a single allocation that no cancellation can
// interrupt. So the built-ins whose output can be far larger than their
// input are guarded: a call whose result would pass a limit fails before it
// allocates, and the policy gets an `error` result naming it (as for a time
// out). Growth that is gradual (a comprehension building many values) is
// bounded by the time budget.
const (
	// MaxBuiltinString is the longest string a guarded built-in may build
	// (concat, sprintf, strings.replace_n, replace, strings.render_template,
	// json.unmarshal and yaml.unmarshal inputs).
	MaxBuiltinString = 16 << 20
	// MaxBuiltinElements is the most elements a guarded built-in may build
	// (numbers.range, numbers.range_step, array.concat).
	MaxBuiltinElements = 1 << 20
)

// errLimit is a guarded built-in refusing to build too much.
type errLimit struct {
	builtin string
	what    string
	size    int64
	limit   int64
}

func (e errLimit) Error() string {
	return fmt.Sprintf("%s would build %s of %d, over the limit of %d", e.builtin, e.what, e.size, e.limit)
}

var guardOnce sync.Once

// installGuards wraps the guarded built-ins of OPA's (process-wide)
// registry, once, before the first engine evaluates: every engine of the
// process, hence every door, has the same limits.
func installGuards() {
	guardOnce.Do(func() {
		for name, check := range guards {
			orig := topdown.GetBuiltin(name)
			if orig == nil {
				panic("policy: no OPA built-in " + name + " to guard")
			}
			topdown.RegisterBuiltinFunc(name, func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
				if err := check(operands); err != nil {
					// Halt: a refusal ends the evaluation with an error
					// (an error result), where a plain built-in error
					// would only make the expression undefined.
					return topdown.Halt{Err: err}
				}
				return orig(bctx, operands, iter)
			})
		}
	})
}

// guards check a call's operands before the built-in runs.
var guards = map[string]func([]*ast.Term) error{
	ast.Concat.Name: func(ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		delim := int64(len(str(ops[0])))
		var n, total int64
		each(ops[1], func(t *ast.Term) {
			n++
			total += int64(len(str(t)))
		})
		if n > 1 {
			total += delim * (n - 1)
		}
		return stringLimit(ast.Concat.Name, total)
	},
	ast.Sprintf.Name: func(ops []*ast.Term) error {
		if len(ops) < 1 {
			return nil
		}
		format := str(ops[0])
		total := int64(len(format))
		for _, m := range widthPattern.FindAllStringSubmatch(format, -1) {
			for _, d := range m[1:] {
				if w, err := strconv.ParseInt(d, 10, 64); err == nil {
					total += w
				} else if d != "" {
					total += MaxBuiltinString + 1
				}
			}
		}
		if len(ops) > 1 {
			each(ops[1], func(t *ast.Term) { total += int64(len(str(t))) })
		}
		return stringLimit(ast.Sprintf.Name, total)
	},
	ast.ReplaceN.Name: func(ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		s := str(ops[1])
		total := int64(len(s))
		if pat, ok := ops[0].Value.(ast.Object); ok {
			pat.Foreach(func(k, v *ast.Term) {
				total += growth(s, str(k), str(v))
			})
		}
		return stringLimit(ast.ReplaceN.Name, total)
	},
	ast.Replace.Name: func(ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		s := str(ops[0])
		return stringLimit(ast.Replace.Name, int64(len(s))+growth(s, str(ops[1]), str(ops[2])))
	},
	ast.RenderTemplate.Name: firstStringLimit(ast.RenderTemplate.Name),
	ast.JSONUnmarshal.Name:  firstStringLimit(ast.JSONUnmarshal.Name),
	ast.YAMLUnmarshal.Name:  firstStringLimit(ast.YAMLUnmarshal.Name),
	ast.NumbersRange.Name: func(ops []*ast.Term) error {
		if len(ops) < 2 {
			return nil
		}
		return elementLimit(ast.NumbersRange.Name, span(ops[0], ops[1], 1))
	},
	ast.NumbersRangeStep.Name: func(ops []*ast.Term) error {
		if len(ops) < 3 {
			return nil
		}
		step, ok := number(ops[2])
		if !ok || step <= 0 {
			return nil // the built-in reports a bad step itself
		}
		return elementLimit(ast.NumbersRangeStep.Name, span(ops[0], ops[1], step))
	},
	ast.ArrayConcat.Name: func(ops []*ast.Term) error {
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
}

// firstStringLimit guards a built-in by the length of its first operand
// (its input, which bounds what it builds).
func firstStringLimit(builtin string) func([]*ast.Term) error {
	return func(ops []*ast.Term) error {
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

// growth is how much replacing every old by new in s adds.
func growth(s, old, new string) int64 {
	if len(new) <= len(old) {
		return 0
	}
	if old == "" {
		return int64(len(s)+1) * int64(len(new))
	}
	return int64(strings.Count(s, old)) * int64(len(new)-len(old))
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
