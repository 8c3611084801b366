package policy

import "github.com/open-policy-agent/opa/v1/ast"

// TestCapabilities are the capabilities `guardrails test` runs Rego unit
// tests with: those every policy is compiled with (restrictedCapabilities),
// plus print, whose output the test runner captures. A module that calls a
// built-in the engine refuses (time.now_ns, opa.runtime, http.send...)
// fails there as it would in the engine, instead of passing its tests.
func TestCapabilities() *ast.Capabilities {
	caps, _ := restrictedCapabilities()
	caps.Builtins = append(caps.Builtins, ast.Print, ast.InternalPrint)
	return caps
}
