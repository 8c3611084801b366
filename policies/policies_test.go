package policies_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/martech-guardrails/guardrails/policies"
)

// builtinNames are the eighteen built-in policies docs/policies.md promises.
var builtinNames = []string{
	"allowed-registries",
	"campaign-window",
	"credential-age",
	"data-residency",
	"exception-cap",
	"exposure-host",
	"integration-references",
	"legal-basis",
	"ownership",
	"sensitive-data-dpa",
	"vendor-approved",
	"vendor-data-categories",
	"vendor-data-use",
	"vendor-endpoints",
	"vendor-overlap",
	"vendor-renewal",
	"vendor-unused",
	"workload-limits",
}

// kinds a built-in may target.
var kinds = []string{
	"MarketingWorkload",
	"SaaSIntegration",
	"Vendor",
	"PlatformStandard",
	"GuardrailPolicy",
	"PolicyException",
}

func policyName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".rego"), "_", "-")
}

func packageOf(file string) string {
	return "data.guardrails.builtin." + strings.TrimSuffix(file, ".rego")
}

func parse(t *testing.T, modules map[string]string) map[string]*ast.Module {
	t.Helper()
	parsed := make(map[string]*ast.Module, len(modules))
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		m, err := ast.ParseModuleWithOpts(name, modules[name], ast.ParserOptions{
			RegoVersion:       ast.RegoV1,
			ProcessAnnotation: true,
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parsed[name] = m
	}
	return parsed
}

func load(t *testing.T, tests bool) map[string]string {
	t.Helper()
	var (
		modules map[string]string
		err     error
	)
	if tests {
		modules, err = policies.TestModules()
	} else {
		modules, err = policies.Modules()
	}
	if err != nil {
		t.Fatal(err)
	}
	return modules
}

func TestModulesAndTestsPairUp(t *testing.T) {
	mods := load(t, false)
	all := load(t, true)
	if len(mods) != len(builtinNames) {
		t.Errorf("Modules() returned %d modules, want %d: %v", len(mods), len(builtinNames), slices.Sorted(maps.Keys(mods)))
	}
	for name := range mods {
		if strings.HasSuffix(name, "_test.rego") {
			t.Errorf("Modules() returned test module %s", name)
		}
		test := strings.TrimSuffix(name, ".rego") + "_test.rego"
		if _, ok := all[test]; !ok {
			t.Errorf("%s has no unit tests (%s)", name, test)
		}
	}
	for name := range all {
		if !strings.HasSuffix(name, "_test.rego") {
			if _, ok := mods[name]; !ok {
				t.Errorf("TestModules() has %s but Modules() does not", name)
			}
			continue
		}
		policy := strings.TrimSuffix(name, "_test.rego") + ".rego"
		if _, ok := mods[policy]; !ok {
			t.Errorf("%s tests a policy that does not exist (%s)", name, policy)
		}
	}
	for name, m := range parse(t, all) {
		want := packageOf(name)
		if strings.HasSuffix(name, "_test.rego") {
			want = packageOf(strings.TrimSuffix(name, "_test.rego")+".rego") + "_test"
		}
		if got := m.Package.Path.String(); got != want {
			t.Errorf("%s: package %s, want %s", name, got, want)
		}
	}
}

// TestFormatted fails for every module that `opa fmt` would rewrite.
func TestFormatted(t *testing.T) {
	all := load(t, true)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		src := []byte(all[name])
		formatted, err := format.Source(name, src)
		if err != nil {
			t.Errorf("%s: cannot format: %v", name, err)
			continue
		}
		if !bytes.Equal(formatted, src) {
			t.Errorf("%s is not formatted; run `opa fmt -w policies/%s`", name, name)
		}
	}
}

// TestMetadata checks the package-scoped METADATA the engine and
// `guardrails policies` read: title, description and the custom section.
func TestMetadata(t *testing.T) {
	var names []string
	for name, m := range parse(t, load(t, false)) {
		var pkg *ast.Annotations
		for _, a := range m.Annotations {
			if a.Scope == "package" {
				pkg = a
			}
		}
		if pkg == nil {
			t.Errorf("%s: no package-scoped METADATA", name)
			continue
		}
		if strings.TrimSpace(pkg.Title) == "" {
			t.Errorf("%s: METADATA has no title", name)
		}
		if strings.TrimSpace(pkg.Description) == "" {
			t.Errorf("%s: METADATA has no description", name)
		}
		custom := pkg.Custom
		policy, _ := custom["name"].(string)
		if policy != policyName(name) {
			t.Errorf("%s: custom.name is %q, want %q", name, policy, policyName(name))
		}
		names = append(names, policy)
		if s, _ := custom["severity"].(string); !slices.Contains([]string{"critical", "high", "medium", "low", "info"}, s) {
			t.Errorf("%s: custom.severity %v is not one of critical, high, medium, low, info", name, custom["severity"])
		}
		if e, _ := custom["enforcement"].(string); !slices.Contains([]string{"deny", "warn", "audit"}, e) {
			t.Errorf("%s: custom.enforcement %v is not one of deny, warn, audit", name, custom["enforcement"])
		}
		if c, _ := custom["category"].(string); strings.TrimSpace(c) == "" {
			t.Errorf("%s: custom.category is missing", name)
		}
		targets, _ := custom["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("%s: custom.targets is missing or empty", name)
		}
		for _, target := range targets {
			if k, _ := target.(string); !slices.Contains(kinds, k) {
				t.Errorf("%s: custom.targets has %v, not one of %v", name, target, kinds)
			}
		}
		hasViolation := false
		for _, r := range m.Rules {
			if r.Head.Ref().String() == "violation" {
				hasViolation = true
			}
		}
		if !hasViolation {
			t.Errorf("%s: no violation rule", name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, builtinNames) {
		t.Errorf("built-in names are %v, want %v", names, builtinNames)
	}
}

// refusedBuiltin reports whether docs/policies.md refuses the built-in for
// custom policies; the built-ins keep to the same rule so that their verdicts
// depend only on the input document.
func refusedBuiltin(b *ast.Builtin) bool {
	if b.Nondeterministic {
		return true
	}
	switch b.Name {
	case "time.now_ns", "trace", "print", "internal.print", "io.jwt.decode_verify", "io.jwt.encode_sign",
		"crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options":
		return true
	}
	for _, prefix := range []string{"http.", "net.", "opa.", "rand.", "uuid.", "providers."} {
		if strings.HasPrefix(b.Name, prefix) {
			return true
		}
	}
	return false
}

// TestBuiltinsCompileWithRestrictedCapabilities compiles the built-ins the
// way custom policies are compiled: without outward or non-deterministic
// built-ins, in strict mode.
func TestBuiltinsCompileWithRestrictedCapabilities(t *testing.T) {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), refusedBuiltin)
	caps.AllowNet = []string{}
	modules := parse(t, load(t, false))
	compiler := ast.NewCompiler().WithCapabilities(caps).WithStrict(true)
	if compiler.Compile(modules); compiler.Failed() {
		t.Fatalf("built-ins do not compile with restricted capabilities: %v", compiler.Errors)
	}
	for name, m := range modules {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if op := e.Operator().String(); e.IsCall() && (op == "print" || op == "trace") {
				t.Errorf("%s:%d: calls %s", name, e.Location.Row, op)
			}
			return false
		})
	}
}

// TestRego runs every _test.rego and reports each Rego test as a subtest,
// so a failing Rego test fails `go test ./...` by name.
func TestRego(t *testing.T) {
	modules := parse(t, load(t, true))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	ch, err := tester.NewRunner().
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true).
		SetTimeout(30*time.Second).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("compiling the built-in policies and their tests: %v", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return strings.Compare(a.Package+"."+a.Name, b.Package+"."+b.Name)
	})
	if len(results) == 0 {
		t.Fatal("no Rego tests found")
	}

	perPackage := map[string]int{}
	passed := 0
	for _, r := range results {
		perPackage[r.Package]++
		name := strings.TrimPrefix(r.Package, "data.guardrails.builtin.") + "." + r.Name
		t.Run(name, func(t *testing.T) {
			switch {
			case r.Skip:
				t.Skip("skipped in Rego (todo_ prefix)")
			case r.Error != nil:
				t.Errorf("%s: Rego test %s errored: %v%s", location(r), r.Name, r.Error, output(r))
			case r.Fail:
				t.Errorf("%s: Rego test %s failed (trace it with `opa test -v policies --run '%s$'`)%s",
					location(r), r.Name, r.Name, output(r))
			default:
				passed++
			}
		})
	}
	t.Logf("%d/%d Rego tests passed", passed, len(results))

	// Every built-in has at least one allow and several deny cases.
	for name := range load(t, false) {
		pkg := packageOf(name) + "_test"
		if perPackage[pkg] < 4 {
			t.Errorf("%s has %d Rego tests, want at least 4", pkg, perPackage[pkg])
		}
	}
}

func location(r *tester.Result) string {
	if r.Location == nil {
		return r.Package
	}
	return fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
}

func output(r *tester.Result) string {
	if len(r.Output) == 0 {
		return ""
	}
	return "\nprint output:\n" + string(r.Output)
}

// TestSparseInputs evaluates every built-in against near-empty inputs of
// every kind with strict built-in errors: policies must tolerate missing
// fields, and every result must be a well-formed violation.
func TestSparseInputs(t *testing.T) {
	modules := parse(t, load(t, false))
	compiler := ast.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		t.Fatalf("compiling built-ins: %v", compiler.Errors)
	}
	ctx := context.Background()
	for _, kind := range kinds {
		inputs := map[string]map[string]any{
			"kind only": {"kind": kind},
			"empty object": {
				"kind": kind, "operation": "CHECK", "object": map[string]any{"kind": kind},
				"standard": map[string]any{}, "vendors": map[string]any{}, "integrations": map[string]any{},
				"policies": []any{}, "parameters": map[string]any{}, "now": "2025-06-02T09:00:00Z",
			},
			"empty spec": {
				"kind": kind, "operation": "CHECK",
				"object":   map[string]any{"kind": kind, "metadata": map[string]any{"name": "x"}, "spec": map[string]any{}},
				"standard": map[string]any{}, "now": "2025-06-02T09:00:00Z",
			},
			"null fields": {
				"kind": kind, "operation": "CHECK",
				"object": map[string]any{"kind": kind, "spec": map[string]any{
					"owner": nil, "campaign": nil, "exposure": nil, "resources": nil, "integrations": nil,
					"dataCategories": nil, "credentials": nil, "endpoints": nil, "policies": nil, "expiresAt": nil,
				}},
				"standard": map[string]any{"allowedRegistries": nil, "workloadDefaults": nil, "ingress": nil, "campaign": nil},
				"now":      "2025-06-02T09:00:00Z",
			},
			"null settings": {
				"kind": kind, "operation": "CHECK",
				"object": map[string]any{"kind": kind, "spec": map[string]any{
					"owner":          map[string]any{"team": nil, "contact": nil},
					"campaign":       map[string]any{"name": nil, "startsAt": nil, "endsAt": nil},
					"exposure":       map[string]any{"host": nil},
					"resources":      map[string]any{"limits": nil, "requests": map[string]any{"cpu": nil}},
					"integrations":   []any{nil, map[string]any{"name": nil}, map[string]any{"name": "missing"}},
					"dataCategories": []any{nil}, "endpoints": []any{nil}, "policies": []any{nil},
					"vendor": nil, "dataUse": nil, "region": nil, "credentials": map[string]any{"secretName": nil},
				}},
				"standard": map[string]any{
					"allowedRegistries":       []any{nil},
					"workloadDefaults":        map[string]any{"maxReplicas": nil, "resources": map[string]any{"limits": nil}},
					"ingress":                 map[string]any{"allowedHostSuffixes": nil},
					"campaign":                map[string]any{"maxDuration": nil},
					"credentials":             map[string]any{"maxAge": nil},
					"dataResidency":           map[string]any{"allowedRegions": nil},
					"policies":                map[string]any{"exceptionMaxDuration": nil},
					"sensitiveDataCategories": nil,
				},
				"vendors": nil, "integrations": map[string]any{"missing": nil}, "secrets": nil, "policies": nil,
				"now": "2025-06-02T09:00:00Z",
			},
			"null entries": {
				"kind": kind, "operation": "CHECK",
				"object": map[string]any{"kind": kind, "metadata": map[string]any{"namespace": nil}, "spec": map[string]any{
					"vendor": "x", "dataUse": "marketing", "dataCategories": []any{"user"}, "region": "eu",
					"endpoints": []any{"a.example"}, "credentials": map[string]any{"secretName": "s"},
					"integrations": []any{map[string]any{"name": "i"}, map[string]any{"name": "j"}},
					"policies":     []any{"p"}, "expiresAt": "2025-07-01T00:00:00Z",
				}},
				"standard": map[string]any{"sensitiveDataCategories": []any{"user.financial"}, "dataResidency": map[string]any{"allowedRegions": []any{"eu"}}},
				"vendors":  map[string]any{"x": nil},
				"integrations": map[string]any{
					"i": map[string]any{"guardrails": nil, "status": nil, "spec": nil},
					"j": map[string]any{"guardrails": map[string]any{"compliant": false, "violations": []any{nil, map[string]any{"policy": nil}}}, "spec": map[string]any{"dataCategories": []any{nil}}},
				},
				"secrets": map[string]any{"s": nil}, "policies": map[string]any{"p": true},
				"now": "2025-06-02T09:00:00Z",
			},
			"vendor with null fields": {
				"kind": kind, "operation": "CHECK",
				"object": map[string]any{"kind": kind, "spec": map[string]any{
					"vendor": "x", "dataUse": "marketing", "dataCategories": []any{"user"}, "region": "eu",
					"endpoints": []any{"a.example"}, "credentials": map[string]any{"secretName": "s"},
				}},
				"standard": map[string]any{"sensitiveDataCategories": []any{"user.financial"}, "credentials": map[string]any{"maxAge": "24h"}},
				"vendors": map[string]any{"x": map[string]any{"spec": map[string]any{
					"status": nil, "displayName": nil, "domains": nil, "allowedDataCategories": nil,
					"allowedDataUses": nil, "processingRegions": nil, "dpa": nil,
				}}},
				"secrets": map[string]any{"s": map[string]any{"exists": nil, "createdAt": nil, "rotatedAt": nil}},
				"now":     "2025-06-02T09:00:00Z",
			},
		}
		for label, input := range inputs {
			for file := range modules {
				query := packageOf(file) + ".violation"
				rs, err := rego.New(
					rego.Query(query),
					rego.Compiler(compiler),
					rego.Input(input),
					rego.StrictBuiltinErrors(true),
				).Eval(ctx)
				if err != nil {
					t.Errorf("%s with %s %s input: %v", file, kind, label, err)
					continue
				}
				for _, r := range rs {
					for _, e := range r.Expressions {
						vs, _ := e.Value.([]any)
						for _, v := range vs {
							checkViolation(t, fmt.Sprintf("%s with %s %s input", file, kind, label), v)
						}
					}
				}
			}
		}
	}
}

func checkViolation(t *testing.T, where string, v any) {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: violation %v is not an object", where, v)
		return
	}
	for key, val := range obj {
		switch key {
		case "msg", "field", "remediation":
			if s, _ := val.(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s: violation %q is empty in %v", where, key, obj)
			}
		case "enforcement":
			if s, _ := val.(string); !slices.Contains([]string{"deny", "warn", "audit"}, s) {
				t.Errorf("%s: violation enforcement %v is not deny, warn or audit", where, val)
			}
		default:
			t.Errorf("%s: violation has unexpected key %q: %v", where, key, obj)
		}
	}
	for _, key := range []string{"msg", "field", "remediation"} {
		if _, ok := obj[key]; !ok {
			t.Errorf("%s: violation has no %q: %v", where, key, obj)
		}
	}
}
