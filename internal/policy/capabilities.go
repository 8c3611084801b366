package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// refusedSuffix is appended to the compiler's "undefined function" message
// when the function is a built-in that policies may not call.
const refusedSuffix = " (not allowed in GuardrailPolicy)"

// refusedPrefixes are families of built-ins that reach outside the engine or
// depend on something other than the input document.
var refusedPrefixes = []string{
	"http.",      // http.send
	"net.",       // net.lookup_ip_addr and, for simplicity, the whole family
	"opa.",       // opa.runtime
	"rand.",      // rand.intn
	"uuid.",      // uuid.rfc4122
	"providers.", // providers.aws.sign_req reads the clock
	"io.jwt.encode_sign",
}

// refusedNames are single built-ins that are refused although OPA may not
// flag them as non-deterministic: they read the clock, print, or trace.
var refusedNames = map[string]bool{
	"time.now_ns":          true,
	"trace":                true,
	"print":                true,
	"internal.print":       true,
	"io.jwt.decode_verify": true, // checks exp/nbf against the clock
	"crypto.x509.parse_and_verify_certificates":              true, // verifies against the clock
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

// refused reports whether policies may not call the built-in name.
func refused(b *ast.Builtin) bool {
	return b.Nondeterministic || refusedName(b.Name)
}

func refusedName(name string) bool {
	if refusedNames[name] {
		return true
	}
	for _, p := range refusedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// restrictedCapabilities returns the capabilities every policy (built-in and
// custom) is compiled with, and the set of built-in names they leave out.
func restrictedCapabilities() (*ast.Capabilities, map[string]bool) {
	caps := ast.CapabilitiesForThisVersion()
	out := make(map[string]bool)
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		if refused(b) {
			out[b.Name] = true
			return true
		}
		return false
	})
	// print is erased (not reported) by the compiler when print statements
	// are disabled, so it is caught by refusedCalls instead.
	out["print"] = true
	out["internal.print"] = true
	caps.AllowNet = []string{} // no host is reachable, whatever slips through
	return caps, out
}

// refusedCalls walks the parsed modules of one policy and returns an error for
// every call of a refused built-in. The compiler reports most of these as
// "undefined function" itself, but erases print calls silently; walking the
// modules gives one consistent message for all of them. A call of a function
// the policy defines itself (say its own trace) is not a built-in call.
func refusedCalls(policy string, modules []*ast.Module, denied map[string]bool) []CompileError {
	local := make(map[string]bool)
	for _, m := range modules {
		for _, r := range m.Rules {
			if ref := r.Head.Ref(); len(ref) > 0 {
				local[ref[0].Value.String()] = true
			}
		}
	}
	var errs []CompileError
	check := func(op *ast.Term, fallback *ast.Location) {
		ref, ok := op.Value.(ast.Ref)
		if !ok {
			return
		}
		name := ref.String()
		if !denied[name] || (len(ref) == 1 && local[name]) {
			return
		}
		loc := op.Location
		if loc == nil {
			loc = fallback
		}
		errs = append(errs, compileErrorAt(policy, loc, "undefined function "+name+refusedSuffix))
	}
	for _, m := range modules {
		ast.WalkNodes(m, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Expr:
				if x.IsCall() {
					check(x.OperatorTerm(), x.Location)
				}
			case *ast.Term:
				if c, ok := x.Value.(ast.Call); ok && len(c) > 0 {
					check(c[0], x.Location)
				}
			}
			return false
		})
	}
	return errs
}
