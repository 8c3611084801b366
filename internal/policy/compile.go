package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// Info describes a policy in force.
type Info struct {
	Name        string
	Title       string
	Description string
	Enforcement string // deny, warn or audit, before any PlatformStandard override
	Severity    string // critical, high, medium, low or info
	Category    string
	Targets     []string // kinds, e.g. MarketingWorkload
	Builtin     bool
	// Gatekeeper is set for a Gatekeeper constraint (Name is the
	// constraint's name, Title "<Kind> <name>").
	Gatekeeper bool
}

// knownKind reports whether kind is one of the six kinds of our API.
func knownKind(kind string) bool { _, known := v1alpha1.Namespaced(kind); return known }

// childKind reports whether kind is a kind of rendered child.
func childKind(kind string) bool { return slices.Contains(v1alpha1.ChildKinds, kind) }

// targetKind reports whether a policy can target kind: one of the six, or a
// kind of rendered child.
func targetKind(kind string) bool { return knownKind(kind) || childKind(kind) }

func validEnforcement(s string) bool {
	switch v1alpha1.Enforcement(s) {
	case v1alpha1.EnforcementDeny, v1alpha1.EnforcementWarn, v1alpha1.EnforcementAudit:
		return true
	}
	return false
}

func validSeverity(s string) bool {
	switch v1alpha1.Severity(s) {
	case v1alpha1.SeverityCritical, v1alpha1.SeverityHigh, v1alpha1.SeverityMedium, v1alpha1.SeverityLow, v1alpha1.SeverityInfo:
		return true
	}
	return false
}

const (
	builtinPackagePrefix = "guardrails.builtin."
	violationRule        = gatekeeper.ViolationRule
	mainModule           = "rego"
)

var (
	// reservedRoot is data.guardrails: built-ins and the taxonomy live below it.
	reservedRoot = ast.MustParseRef("data.guardrails")
)

// compiler carries what every compilation shares.
type compiler struct {
	caps   *ast.Capabilities
	denied map[string]bool
	prep   func(ast.Body, *ast.Compiler) (rego.PreparedEvalQuery, error)
	// resultCacheSize is Options.ResultCacheSize, for each query's cache.
	resultCacheSize int
}

// parse parses one module as Rego v1 with METADATA annotations.
func (c *compiler) parse(policy, file, src string) (*ast.Module, []CompileError) {
	return c.parseVersion(policy, file, src, ast.RegoV1)
}

// parseVersion parses one module in the Rego version v (a Gatekeeper
// template's may be v0) with METADATA annotations.
func (c *compiler) parseVersion(policy, file, src string, v ast.RegoVersion) (*ast.Module, []CompileError) {
	m, err := ast.ParseModuleWithOpts(file, src, ast.ParserOptions{
		ProcessAnnotation: true,
		RegoVersion:       v,
		Capabilities:      c.caps,
	})
	if err != nil {
		return nil, fromOPA(policy, err, c.denied, nil)
	}
	if m == nil {
		return nil, []CompileError{{Policy: policy, Module: file, Message: "empty module: a package declaration is required"}}
	}
	return m, nil
}

// compile compiles the modules of one policy (or of all built-ins) together.
func (c *compiler) compile(policy string, modules map[string]*ast.Module) (*ast.Compiler, []CompileError) {
	refusedErrs := refusedCalls(policy, slices.Collect(maps.Values(modules)), c.denied)
	comp := ast.NewCompiler().
		WithCapabilities(c.caps).
		WithEnablePrintStatements(false)
	comp.Compile(modules)
	errs := refusedErrs
	if comp.Failed() {
		errs = append(errs, fromOPA(policy, comp.Errors, c.denied, refusedErrs)...)
	}
	sortErrors(errs)
	return comp, errs
}

func sortErrors(errs []CompileError) {
	slices.SortStableFunc(errs, func(a, b CompileError) int {
		return gatekeeper.CompareErrors(gatekeeper.Error(a), gatekeeper.Error(b))
	})
}

// packageAnnotation returns the package-scoped METADATA of m, if any.
func packageAnnotation(m *ast.Module) *ast.Annotations {
	for _, a := range m.Annotations {
		if a.Scope == "package" || a.Scope == "subpackages" {
			return a
		}
	}
	return nil
}

// --- built-ins ---

// builtinPolicy is one embedded policy.
type builtinPolicy struct {
	info Info
	pkg  ast.Ref
	// alone evaluates this policy by itself; it is used to find out which
	// policy failed when the combined query of a kind fails.
	alone rego.PreparedEvalQuery
}

// kindQuery evaluates every built-in targeting one kind in a single query;
// the violations of policies[i] are bound to vars[i].
type kindQuery struct {
	policies []*builtinPolicy
	vars     []string
	query    rego.PreparedEvalQuery
	results  *resultCache
}

// builtinSet is the compiled built-ins. It never changes after New.
type builtinSet struct {
	policies []*builtinPolicy // by name
	byName   map[string]*builtinPolicy
	byKind   map[string]*kindQuery
}

// compileBuiltins compiles the embedded modules (file name → source).
func (c *compiler) compileBuiltins(files map[string]string) (*builtinSet, error) {
	var errs []CompileError
	modules := make(map[string]*ast.Module, len(files))
	set := &builtinSet{byName: make(map[string]*builtinPolicy), byKind: make(map[string]*kindQuery)}
	for _, file := range slices.Sorted(maps.Keys(files)) {
		m, perrs := c.parse("", file, files[file])
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		modules[file] = m
		info, ierrs := builtinInfo(file, m)
		if len(ierrs) > 0 {
			errs = append(errs, ierrs...)
			continue
		}
		if prev, dup := set.byName[info.Name]; dup {
			errs = append(errs, CompileError{Policy: info.Name, Module: file, Message: fmt.Sprintf("name %q already used by package %s", info.Name, prev.pkg)})
			continue
		}
		p := &builtinPolicy{info: info, pkg: m.Package.Path}
		set.byName[info.Name] = p
		set.policies = append(set.policies, p)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("built-in policies: %w", compileErrors(errs))
	}
	comp, cerrs := c.compile("", modules)
	if len(cerrs) > 0 {
		return nil, fmt.Errorf("built-in policies: %w", compileErrors(cerrs))
	}
	slices.SortFunc(set.policies, func(a, b *builtinPolicy) int { return strings.Compare(a.info.Name, b.info.Name) })

	for _, p := range set.policies {
		q, err := c.prep(ast.NewBody(gatekeeper.ViolationQuery("v", p.pkg)), comp)
		if err != nil {
			return nil, fmt.Errorf("built-in policy %s: %w", p.info.Name, err)
		}
		p.alone = q
		for _, kind := range p.info.Targets {
			kq := set.byKind[kind]
			if kq == nil {
				kq = &kindQuery{}
				set.byKind[kind] = kq
			}
			kq.policies = append(kq.policies, p)
		}
	}
	for kind, kq := range set.byKind {
		body := make(ast.Body, len(kq.policies))
		for i, p := range kq.policies {
			v := fmt.Sprintf("v%d", i)
			kq.vars = append(kq.vars, v)
			body[i] = gatekeeper.ViolationQuery(v, p.pkg)
			body[i].Index = i
		}
		q, err := c.prep(body, comp)
		if err != nil {
			return nil, fmt.Errorf("built-in policies for %s: %w", kind, err)
		}
		kq.query = q
		kq.results = newResultCache(c.resultCacheSize)
	}
	return set, nil
}

// builtinInfo reads and checks a built-in's package METADATA.
func builtinInfo(file string, m *ast.Module) (Info, []CompileError) {
	loc := m.Package.Location
	fail := func(format string, args ...any) (Info, []CompileError) {
		ce := compileErrorAt("", loc, fmt.Sprintf(format, args...))
		ce.Module = file
		return Info{}, []CompileError{ce}
	}
	a := packageAnnotation(m)
	if a == nil {
		return fail("package METADATA with custom.name, enforcement, severity, category and targets is required")
	}
	str := func(key string) string {
		s, _ := a.Custom[key].(string)
		return s
	}
	info := Info{
		Name:        str("name"),
		Title:       a.Title,
		Description: a.Description,
		Enforcement: str("enforcement"),
		Severity:    str("severity"),
		Category:    str("category"),
		Builtin:     true,
	}
	if info.Name == "" {
		return fail("METADATA custom.name is required")
	}
	if !validEnforcement(info.Enforcement) {
		return fail("METADATA custom.enforcement %q: want deny, warn or audit", info.Enforcement)
	}
	if !validSeverity(info.Severity) {
		return fail("METADATA custom.severity %q: want critical, high, medium, low or info", info.Severity)
	}
	targets, _ := a.Custom["targets"].([]any)
	for _, t := range targets {
		kind, _ := t.(string)
		if !knownKind(kind) {
			return fail("METADATA custom.targets: unknown kind %v", t)
		}
		if !slices.Contains(info.Targets, kind) {
			info.Targets = append(info.Targets, kind)
		}
	}
	if len(info.Targets) == 0 {
		return fail("METADATA custom.targets: at least one kind is required")
	}
	if info.Title == "" {
		info.Title = info.Name
	}
	want := "data." + builtinPackagePrefix + strings.ReplaceAll(info.Name, "-", "_")
	if got := m.Package.Path.String(); got != want {
		return fail("package of built-in %q must be %s, not %s", info.Name, strings.TrimPrefix(want, "data."), strings.TrimPrefix(got, "data."))
	}
	if !gatekeeper.DefinesViolation(m) {
		return fail("package %s does not define %s", strings.TrimPrefix(want, "data."), violationRule)
	}
	return info, nil
}

// --- custom policies (GuardrailPolicy) ---

// customRego is the compiled Rego of a GuardrailPolicy. It depends only on
// the modules, so it is reused while spec.rego and spec.libs are unchanged.
type customRego struct {
	source      []string // rego, then libs
	pkg         ast.Ref
	title       string // from the main module's METADATA, if any
	description string
	query       rego.PreparedEvalQuery
	results     *resultCache
}

// customPolicy is a GuardrailPolicy in force.
type customPolicy struct {
	info     Info
	rego     *customRego
	params   *ast.Term       // input.parameters
	selector labels.Selector // nil: every namespace
}

// compileCustom checks and compiles one GuardrailPolicy. prev, when not nil,
// is its compiled Rego from the set in force, reused if the sources match.
func (c *compiler) compileCustom(gp *v1alpha1.GuardrailPolicy, prev *customRego, builtins *builtinSet) (*customPolicy, []CompileError) {
	name := gp.Name
	spec := &gp.Spec
	var errs []CompileError
	specErr := func(field, format string, args ...any) {
		errs = append(errs, CompileError{Policy: name, Module: field, Message: fmt.Sprintf(format, args...)})
	}
	if name == "" {
		specErr("metadata.name", "a name is required")
	}
	if _, taken := builtins.byName[name]; taken {
		specErr("metadata.name", "%q is the name of a built-in policy", name)
	}
	p := &customPolicy{info: Info{
		Name:        name,
		Description: spec.Description,
		Enforcement: string(spec.Enforcement),
		Severity:    string(spec.Severity),
		Category:    spec.Category,
	}}
	if p.info.Enforcement == "" {
		p.info.Enforcement = string(v1alpha1.EnforcementDeny)
	}
	if !validEnforcement(p.info.Enforcement) {
		specErr("spec.enforcement", "%q: want deny, warn or audit", spec.Enforcement)
	}
	if p.info.Severity == "" {
		p.info.Severity = string(v1alpha1.SeverityMedium)
	}
	if !validSeverity(p.info.Severity) {
		specErr("spec.severity", "%q: want critical, high, medium, low or info", spec.Severity)
	}
	if len(spec.Targets) == 0 {
		specErr("spec.targets", "at least one kind is required")
	}
	for i, t := range spec.Targets {
		switch {
		case !targetKind(string(t)):
			specErr(fmt.Sprintf("spec.targets[%d]", i), "unknown kind %q", t)
		case !slices.Contains(p.info.Targets, string(t)):
			p.info.Targets = append(p.info.Targets, string(t))
		}
	}
	p.params = ast.NewTerm(ast.NewObject())
	if spec.Parameters != nil && len(spec.Parameters.Raw) > 0 {
		var params any
		if err := json.Unmarshal(spec.Parameters.Raw, &params); err != nil {
			specErr("spec.parameters", "invalid JSON: %v", err)
		} else if v, err := ast.InterfaceToValue(params); err != nil {
			specErr("spec.parameters", "%v", err)
		} else if _, ok := v.(ast.Object); !ok && params != nil {
			specErr("spec.parameters", "must be an object")
		} else if params != nil {
			p.params = ast.NewTerm(v)
		}
	}
	if spec.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(spec.NamespaceSelector)
		if err != nil {
			specErr("spec.namespaceSelector", "%v", err)
		} else if !sel.Empty() {
			p.selector = sel
		}
	}

	source := append([]string{spec.Rego}, spec.Libs...)
	if prev != nil && slices.Equal(prev.source, source) {
		p.rego = prev
	} else {
		var rerrs []CompileError
		p.rego, rerrs = c.compileRego(name, source)
		errs = append(errs, rerrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	p.info.Title = cmp.Or(p.rego.title, name)
	p.info.Description = cmp.Or(p.info.Description, p.rego.description)
	return p, nil
}

// compileRego compiles a GuardrailPolicy's modules (rego, then libs) and
// prepares its query.
func (c *compiler) compileRego(policy string, source []string) (*customRego, []CompileError) {
	var errs []CompileError
	modules := make(map[string]*ast.Module, len(source))
	var main *ast.Module
	for i, src := range source {
		file := gatekeeper.ModuleName(i)
		m, perrs := c.parse(policy, file, src)
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		if reserved(m.Package.Path) {
			errs = append(errs, compileErrorAt(policy, m.Package.Location,
				fmt.Sprintf("package %s is reserved for the built-in policies and the taxonomy", strings.TrimPrefix(m.Package.Path.String(), "data."))))
		}
		modules[file] = m
		if i == 0 {
			main = m
		}
	}
	if main != nil && !gatekeeper.DefinesViolation(main) {
		errs = append(errs, compileErrorAt(policy, main.Package.Location,
			fmt.Sprintf("package %s does not define %s: write `violation contains msg if { ... }`", strings.TrimPrefix(main.Package.Path.String(), "data."), violationRule)))
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	comp, cerrs := c.compile(policy, modules)
	if len(cerrs) > 0 {
		return nil, cerrs
	}
	q, err := c.prep(ast.NewBody(gatekeeper.ViolationQuery("v", main.Package.Path)), comp)
	if err != nil {
		return nil, fromOPA(policy, err, c.denied, nil)
	}
	r := &customRego{source: source, pkg: main.Package.Path, query: q, results: newResultCache(c.resultCacheSize)}
	if a := packageAnnotation(main); a != nil {
		r.title, r.description = a.Title, a.Description
	}
	return r, nil
}

// reserved reports whether a custom module may not use the package path:
// data.guardrails itself, and anything under data.guardrails.builtin or
// data.guardrails.taxonomy.
func reserved(path ast.Ref) bool {
	if !path.HasPrefix(reservedRoot) {
		return false
	}
	if len(path) == len(reservedRoot) {
		return true
	}
	s, ok := path[len(reservedRoot)].Value.(ast.String)
	return ok && (s == "builtin" || s == "taxonomy")
}

// prepare returns a function preparing queries against a compiler.
func prepare(ctx context.Context, caps *ast.Capabilities, opts ...func(*rego.Rego)) func(ast.Body, *ast.Compiler) (rego.PreparedEvalQuery, error) {
	return func(body ast.Body, comp *ast.Compiler) (rego.PreparedEvalQuery, error) {
		all := append([]func(*rego.Rego){
			rego.ParsedQuery(body),
			rego.Compiler(comp),
			rego.Capabilities(caps),
			rego.StoreReadAST(true),
		}, opts...)
		return rego.New(all...).PrepareForEval(ctx)
	}
}
