package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
	"github.com/martech-guardrails/guardrails/policies"
	builtinfixtures "github.com/martech-guardrails/guardrails/policies/fixtures"
)

const testUsage = `
Usage: guardrails test [flags] [DIR ...]

Run the Rego unit tests (rules named test_* in .rego files, usually
<policy>_test.rego) with OPA's tester, the allow/deny fixture suites
(files named guardrails-test.yaml) and Gatekeeper's gator suites (kind:
Suite, test.gatekeeper.sh/v1alpha1) found under each DIR. A DIR may also
be one .rego file or one suite file. The Rego of GuardrailPolicy manifests
under DIR is loaded too, so that _test.rego files can import it.

With no DIR, test the embedded built-in policies: their Rego unit tests and
their fixture suites.

Each test prints PASS, FAIL or SKIP (with the reason: skip: true, or a
Gatekeeper template with only the CEL engine); the last line is
"N passed, M failed".
Exit status: 0 every test passed, 1 a test failed, 2 bad input or usage.
See docs/cli.md for the fixture suite format.`

const testExamples = `  # The built-ins embedded in this binary
  guardrails test

  # The built-ins from source, with their fixtures
  guardrails test policies/

  # The platform team's policies and fixtures, only the tests about residency
  guardrails test --run residency platform/policies/

  # A Gatekeeper library's gator suites
  guardrails test library/`

// regoTimeout bounds one Rego unit test.
const regoTimeout = 30 * time.Second

func runTest(e *env, args []string) int {
	f := newFlags("test", testUsage, testExamples)
	var filter string
	f.StringVar(&filter, "run", "", "run only the Rego tests and fixture cases whose name matches `REGEX`")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	var re *regexp.Regexp
	if filter != "" {
		var err error
		if re, err = regexp.Compile(filter); err != nil {
			return f.usageError(e, "-run: %v", err)
		}
	}

	var set testSet
	var errs []error
	if len(pos) == 0 {
		set, errs = embeddedTests()
	} else {
		for _, dir := range pos {
			errs = append(errs, set.discover(e.fsys, dir)...)
		}
	}
	if len(errs) > 0 {
		return printErrors(e, "test", errs)
	}
	if len(set.modules) == 0 && len(set.suites) == 0 && len(set.gator) == 0 {
		fmt.Fprintf(e.stderr, "guardrails test: no Rego tests, fixture suites or gator suites found in %s\n", strings.Join(pos, ", "))
		return ExitBadInput
	}
	ctx := context.Background()
	// GuardrailPolicies are compiled by the engine as check compiles them
	// (restricted capabilities, reserved packages, violation defined):
	// their errors are check's, exit 2.
	if errs := compilePolicies(ctx, e, set.policyFiles); len(errs) > 0 {
		return printErrors(e, "test", manifest.SortErrors(errs))
	}
	t := &tally{out: e.stdout}
	if err := runRego(ctx, t, set.modules, re); err != nil {
		return printErrors(e, "test", []error{err})
	}
	for _, s := range set.suites {
		if err := runSuite(ctx, t, s, re); err != nil {
			return printErrors(e, "test", []error{err})
		}
	}
	for _, s := range set.gator {
		if err := runGatorSuite(ctx, t, s, re); err != nil {
			return printErrors(e, "test", []error{err})
		}
	}
	if t.passed+t.failed+t.skipped == 0 {
		fmt.Fprintf(e.stderr, "guardrails test: no test matches -run %q\n", filter)
		return ExitBadInput
	}
	fmt.Fprintln(e.stdout, t.summary())
	if t.failed > 0 {
		return ExitDenied
	}
	return ExitOK
}

// tally prints and counts outcomes.
type tally struct {
	out                     io.Writer
	passed, failed, skipped int
}

// Names and details are quoted (report.Quote): a suite's name, a
// policy's message or a test's print output cannot forge a line.
func (t *tally) pass(name string) {
	t.passed++
	fmt.Fprintf(t.out, "PASS  %s\n", report.Quote(name))
}

func (t *tally) fail(name string, details ...string) {
	t.failed++
	fmt.Fprintf(t.out, "FAIL  %s\n", report.Quote(name))
	t.details(details)
}

func (t *tally) skip(name string, reason ...string) {
	t.skipped++
	fmt.Fprintf(t.out, "SKIP  %s\n", report.Quote(name))
	t.details(reason)
}

// details writes each line of each detail indented.
func (t *tally) details(details []string) {
	for _, d := range details {
		if strings.TrimSpace(d) == "" {
			continue
		}
		for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			fmt.Fprintf(t.out, "      %s\n", report.Quote(l))
		}
	}
}

func (t *tally) summary() string {
	s := fmt.Sprintf("%d passed, %d failed", t.passed, t.failed)
	if t.skipped > 0 {
		s += fmt.Sprintf(", %d skipped", t.skipped)
	}
	return s
}

// testSet is what `guardrails test` runs.
type testSet struct {
	modules map[string]*ast.Module // Rego modules by file name
	// policyFiles are the manifests whose GuardrailPolicies' Rego is
	// among modules, in e.fsys.
	policyFiles []string
	suites      []suiteRef
	gator       []suiteRef // Gatekeeper's gator suites (kind: Suite)
}

// suiteRef is a fixture suite file in a file system.
type suiteRef struct {
	fsys fs.FS
	file string
	data []byte // a gator suite's text, as read when it was found
}

func parseRego(name, src string) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		return nil, &manifest.InputError{Msg: strings.TrimSpace(err.Error())}
	}
	return m, nil
}

func (s *testSet) addModule(name, src string) error {
	m, err := parseRego(name, src)
	if err != nil {
		return err
	}
	if s.modules == nil {
		s.modules = map[string]*ast.Module{}
	}
	s.modules[name] = m
	return nil
}

// embeddedTests are the built-ins and their tests and fixtures, as embedded.
func embeddedTests() (testSet, []error) {
	var s testSet
	mods, err := policies.TestModules()
	if err != nil {
		return s, []error{err}
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(mods)) {
		if err := s.addModule("policies/"+name, mods[name]); err != nil {
			errs = append(errs, err)
		}
	}
	suites, err := fs.Glob(builtinfixtures.FS, "*guardrails-test.yaml")
	if err != nil {
		return s, []error{err}
	}
	for _, f := range suites {
		s.suites = append(s.suites, suiteRef{fsys: builtinfixtures.FS, file: f})
	}
	return s, errs
}

// discover finds Rego modules, suites and GuardrailPolicy Rego under root.
func (s *testSet) discover(fsys fs.FS, root string) []error {
	root = path.Clean(strings.ReplaceAll(root, "\\", "/"))
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return []error{&manifest.InputError{File: root, Msg: manifest.CleanPathError(err)}}
	}
	var errs []error
	var manifests []string
	visit := func(file string) {
		base := path.Base(file)
		switch {
		case strings.HasSuffix(base, ".rego"):
			src, err := fs.ReadFile(fsys, file)
			if err != nil {
				errs = append(errs, &manifest.InputError{File: file, Msg: manifest.CleanPathError(err)})
				return
			}
			if err := s.addModule(file, string(src)); err != nil {
				errs = append(errs, err)
			}
		case slices.Contains(manifest.SuiteFileNames, base):
			s.suites = append(s.suites, suiteRef{fsys: fsys, file: file})
		case manifest.IsManifestFile(base):
			manifests = append(manifests, file)
		}
	}
	if !info.IsDir() {
		visit(root)
	} else {
		errs = append(errs, manifest.WalkFiles(fsys, root, visit)...)
	}
	// Each manifest is read once: a gator suite keeps its text for the
	// run, and with Rego tests the GuardrailPolicies' Rego is taken from it.
	withPolicies := s.hasRegoTests()
	for _, file := range manifests {
		data, err := readLimited(fsys, file)
		if err == nil && isGatorSuite(data) {
			s.gator = append(s.gator, suiteRef{fsys: fsys, file: file, data: data})
		}
		if !withPolicies {
			continue
		}
		if err != nil {
			// Past the size limit a manifest still gives its Rego.
			if data, err = fs.ReadFile(fsys, file); err != nil {
				continue
			}
		}
		perrs, found := s.addPolicyModules(file, data)
		errs = append(errs, perrs...)
		if found {
			s.policyFiles = append(s.policyFiles, file)
		}
	}
	return errs
}

func (s *testSet) hasRegoTests() bool {
	for name := range s.modules {
		if strings.HasSuffix(name, "_test.rego") {
			return true
		}
	}
	return false
}

// addPolicyModules adds the Rego of the GuardrailPolicies in the manifest
// file of text src (spec.rego and spec.libs), named file:line#spec.rego. A
// file that does not parse is skipped: suites report it when they use it.
// found reports whether the file holds a GuardrailPolicy.
func (s *testSet) addPolicyModules(file string, src []byte) (errs []error, found bool) {
	docs, perrs := manifest.ParseDocuments(file, src)
	if len(perrs) > 0 {
		return nil, false
	}
	for _, d := range docs {
		if d.Object["kind"] != v1alpha1.KindGuardrailPolicy {
			continue
		}
		found = true
		spec, _ := d.Object["spec"].(map[string]any)
		if rego, ok := spec["rego"].(string); ok {
			if err := s.addModule(fmt.Sprintf("%s#spec.rego", d.Pos()), rego); err != nil {
				errs = append(errs, err)
			}
		}
		libs, _ := spec["libs"].([]any)
		for i, l := range libs {
			if lib, ok := l.(string); ok {
				if err := s.addModule(fmt.Sprintf("%s#spec.libs[%d]", d.Pos(), i), lib); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errs, found
}

// compilePolicies loads the GuardrailPolicies of files as check reads
// them (schema, defaults) and compiles them with the engine check and
// the webhook use, returning check's errors.
func compilePolicies(ctx context.Context, e *env, files []string) []error {
	if len(files) == 0 {
		return nil
	}
	w, errs := manifest.Load(ctx, manifest.Inputs{
		FS:        e.fsys,
		Context:   files,
		Namespace: manifest.DefaultNamespace,
		Limits:    manifest.Limits{File: manifest.DefaultMaxFileSize, Total: manifest.DefaultMaxInputSize},
	})
	if len(errs) > 0 {
		return errs
	}
	_, _, errs = newEngine(w)
	return errs
}

// runRego runs the Rego unit tests among modules as `opa test` would: with
// no data document, so tests mock data.guardrails.taxonomy with `with` when
// they need it (the built-ins' tests check both ways).
func runRego(ctx context.Context, t *tally, modules map[string]*ast.Module, re *regexp.Regexp) error {
	if len(modules) == 0 {
		return nil
	}
	// The capabilities of the engine (print aside): a module that calls
	// a built-in the engine refuses does not compile here either.
	comp := ast.NewCompiler().
		WithCapabilities(policy.TestCapabilities()).
		WithEnablePrintStatements(true).
		WithDefaultRegoVersion(ast.RegoV1)
	runner := tester.NewRunner().
		SetCompiler(comp).
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		CapturePrintOutput(true).
		RaiseBuiltinErrors(true).
		SetTimeout(regoTimeout)
	if re != nil {
		runner = runner.Filter(re.String())
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return &manifest.InputError{Msg: "compiling the Rego modules: " + oneLine(err.Error())}
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		if c := strings.Compare(locFile(a), locFile(b)); c != 0 {
			return c
		}
		return locRow(a) - locRow(b)
	})
	for _, r := range results {
		name := fmt.Sprintf("rego %s.%s", strings.TrimPrefix(r.Package, "data."), r.Name)
		where := fmt.Sprintf("%s:%d", locFile(r), locRow(r))
		switch {
		case r.Skip:
			t.skip(name)
		case r.Error != nil:
			t.fail(name, fmt.Sprintf("%s: error: %v", where, r.Error), string(r.Output))
		case r.Fail:
			details := []string{where + ": failed"}
			if r.FailedAt != nil && r.FailedAt.Location != nil {
				details = []string{fmt.Sprintf("%s:%d: failed at %s", r.FailedAt.Location.File, r.FailedAt.Location.Row, r.FailedAt.String())}
			}
			t.fail(name, append(details, string(r.Output))...)
		default:
			t.pass(name)
		}
	}
	return nil
}

func locFile(r *tester.Result) string {
	if r.Location == nil {
		return r.Package
	}
	return r.Location.File
}

func locRow(r *tester.Result) int {
	if r.Location == nil {
		return 0
	}
	return r.Location.Row
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
