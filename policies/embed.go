// Package policies holds the built-in guardrail policies as Rego v1 source.
//
// Each built-in is one module, <name>.rego with package
// guardrails.builtin.<name with - replaced by _>, opening with package-scoped
// METADATA whose custom section carries the policy's name, enforcement,
// severity, category and target kinds. Its unit tests live beside it in
// <name>_test.rego. The modules are embedded so that the admission webhook,
// the reconcilers, the background audit and the guardrails CLI all evaluate
// exactly the same built-ins. See docs/policies.md for the input document.
package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// FS holds every built-in policy module and its Rego unit tests.
//
//go:embed *.rego
var FS embed.FS

// testSuffix marks a module holding Rego unit tests.
const testSuffix = "_test.rego"

// Modules returns the built-in policy modules, keyed by file name
// (for example allowed_registries.rego), without their tests.
func Modules() (map[string]string, error) {
	return load(false)
}

// TestModules returns every embedded module, keyed by file name: the
// built-in policies and their _test.rego unit tests.
func TestModules() (map[string]string, error) {
	return load(true)
}

func load(withTests bool) (map[string]string, error) {
	names, err := fs.Glob(FS, "*.rego")
	if err != nil {
		return nil, fmt.Errorf("listing built-in policies: %w", err)
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		if !withTests && strings.HasSuffix(name, testSuffix) {
			continue
		}
		src, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading built-in policy %s: %w", name, err)
		}
		out[name] = string(src)
	}
	return out, nil
}
