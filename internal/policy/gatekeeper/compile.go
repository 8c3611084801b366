package gatekeeper

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	templatesv1 "github.com/open-policy-agent/frameworks/constraint/pkg/apis/templates/v1"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// Report is what Compile made of the templates and constraints it was
// given.
type Report struct {
	// Errors by object, "ConstraintTemplate/<name>" or "<Kind>/<name>":
	// a template that does not compile (line:col in its Rego), a constraint
	// whose template is missing, whose parameters or match cannot be read,
	// or whose name is taken by another policy. A template that fails keeps
	// its last good version in force, if it had one.
	Errors map[string][]Error
	// Skipped templates by name, with the reason: a template with no Rego
	// (only the K8sNativeValidation CEL engine) is not evaluated, and its
	// constraints are not in force.
	Skipped map[string]string
}

// template is a compiled ConstraintTemplate.
type template struct {
	name, kind string
	source     []string // version, rego, libs: what the compiled query depends on
	query      rego.PreparedEvalQuery
	inventory  bool // reads data.inventory
	params     apiservervalidation.SchemaValidator
	paramsSrc  string // the parameters schema, as JSON, for reuse
}

// Constraint is a constraint in force: what the engine reports of it as a
// policy, and its template's query.
type Constraint struct {
	Name        string // the constraint's metadata.name, the policy's name
	Kind        string // the constraint's kind, its template's
	Title       string // "<Kind> <name>"
	Description string // the description annotation, if any
	// Enforcement is deny, warn or audit (spec.enforcementAction deny,
	// warn or dryrun).
	Enforcement string
	Targets     []string // the kinds of spec.match.kinds, or "*"

	template *template
	params   *ast.Term
	match    match
}

// Severity is the severity of every constraint's results.
const Severity = string(v1alpha1.SeverityMedium)

// Query is the constraint's template's prepared query: its violations are
// bound to v.
func (c *Constraint) Query() rego.PreparedEvalQuery { return c.template.query }

// Input is the input document of the query: Gatekeeper's input.review,
// the constraint's input.parameters and, when its template reads it,
// data.inventory (nil: none).
func (c *Constraint) Input(review, inventory *ast.Term) ast.Value {
	pairs := [][2]*ast.Term{ast.Item(input.KeyReview, review), ast.Item(input.KeyParameters, c.params)}
	if c.template.inventory && inventory != nil {
		pairs = append(pairs, ast.Item(keyInventory, inventory))
	}
	return ast.NewObject(pairs...)
}

// Set is the Gatekeeper templates and constraints in force. Never modified
// once built.
type Set struct {
	templates   map[string]*template // by template name, for reuse
	constraints []*Constraint        // by name
	inventory   bool                 // some constraint's template reads data.inventory
}

// Empty reports whether s holds no constraint (a nil Set is empty).
func (s *Set) Empty() bool { return s == nil || len(s.constraints) == 0 }

// Constraints are the constraints in force, by name (shared: read only).
func (s *Set) Constraints() []*Constraint {
	if s == nil {
		return nil
	}
	return s.constraints
}

// ReadsInventory reports whether some constraint's template reads
// data.inventory.
func (s *Set) ReadsInventory() bool { return s != nil && s.inventory }

// Without returns s less the constraints whose names are taken (by a
// built-in or a GuardrailPolicy put in force after the constraint); s
// itself when none is.
func (s *Set) Without(taken []string) *Set {
	if s == nil {
		return nil
	}
	keep := slices.DeleteFunc(slices.Clone(s.constraints), func(c *Constraint) bool { return slices.Contains(taken, c.Name) })
	if len(keep) == len(s.constraints) {
		return s
	}
	c := *s
	c.constraints = keep
	return &c
}

// Compile builds the Gatekeeper set from the objects given, compiling the
// templates' Rego with r. prev is the set in force (nil: none): a template
// whose Rego is unchanged keeps its compiled query, and one that fails
// keeps its last good version. taken are the names of the other policies
// in force, which no constraint may take.
func Compile(r Rego, templates, constraints []*unstructured.Unstructured, prev *Set, taken map[string]bool) (*Set, Report) {
	report := Report{Errors: map[string][]Error{}, Skipped: map[string]string{}}
	fail := func(key string, errs ...Error) { report.Errors[key] = append(report.Errors[key], errs...) }
	set := &Set{templates: map[string]*template{}}
	var prevTemplates map[string]*template
	if prev != nil {
		prevTemplates = prev.templates
	}
	byKind := map[string]*template{}
	for _, u := range sortByName(templates) {
		key := TemplateKey(u.GetName())
		t, skipped, errs := compileTemplate(r, u, prevTemplates[u.GetName()])
		switch {
		case skipped != "":
			report.Skipped[u.GetName()] = skipped
			continue
		case len(errs) > 0:
			fail(key, errs...)
			if t = prevTemplates[u.GetName()]; t == nil {
				continue // no last good version
			}
		}
		if other := byKind[t.kind]; other != nil {
			fail(key, Error{Policy: key, Module: "spec.crd.spec.names.kind", Message: fmt.Sprintf("kind %s is already defined by template %q", t.kind, other.name)})
			continue
		}
		set.templates[t.name] = t
		byKind[t.kind] = t
	}
	taken = maps.Clone(taken)
	if taken == nil {
		taken = map[string]bool{}
	}
	for _, u := range sortByName(constraints) {
		key := Key(u.GetKind(), u.GetName())
		if skippedTemplateOf(report.Skipped, u.GetKind()) {
			continue
		}
		t := byKind[u.GetKind()]
		if t == nil {
			fail(key, Error{Policy: key, Module: "kind", Message: fmt.Sprintf("no ConstraintTemplate in force defines kind %s", u.GetKind())})
			continue
		}
		con, errs := compileConstraint(u, t)
		if len(errs) == 0 && taken[con.Name] {
			errs = append(errs, Error{Policy: key, Module: "metadata.name", Message: fmt.Sprintf("%q is already the name of a policy in force", con.Name)})
		}
		if len(errs) > 0 {
			fail(key, errs...)
			continue
		}
		taken[con.Name] = true
		set.constraints = append(set.constraints, con)
		set.inventory = set.inventory || t.inventory
	}
	if len(report.Errors) == 0 {
		report.Errors = nil
	}
	if len(report.Skipped) == 0 {
		report.Skipped = nil
	}
	return set, report
}

// skippedTemplateOf reports whether a skipped template defines kind: the
// name of a template is its kind in lower case.
func skippedTemplateOf(skipped map[string]string, kind string) bool {
	_, ok := skipped[strings.ToLower(kind)]
	return ok
}

// sortByName returns list sorted by kind and name (the caller's slice is
// left in its order).
func sortByName(list []*unstructured.Unstructured) []*unstructured.Unstructured {
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b *unstructured.Unstructured) int {
		if c := strings.Compare(a.GetKind(), b.GetKind()); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	})
	return list
}

// compileTemplate compiles one ConstraintTemplate; prev, when not nil, is
// its compiled form in force, reused when its Rego is unchanged.
func compileTemplate(r Rego, u *unstructured.Unstructured, prev *template) (t *template, skipped string, errs []Error) {
	key := TemplateKey(u.GetName())
	specErr := func(at, format string, args ...any) []Error {
		return []Error{{Policy: key, Module: at, Message: fmt.Sprintf(format, args...)}}
	}
	var ct templatesv1.ConstraintTemplate
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ct); err != nil {
		return nil, "", specErr("spec", "%v", err)
	}
	kind := ct.Spec.CRD.Spec.Names.Kind
	switch {
	case kind == "":
		return nil, "", specErr("spec.crd.spec.names.kind", "a kind is required")
	case strings.ToLower(kind) != ct.Name:
		return nil, "", specErr("metadata.name", "must be the kind in lower case, %q", strings.ToLower(kind))
	case len(ct.Spec.Targets) != 1:
		return nil, "", specErr("spec.targets", "exactly one target is required, %s", target)
	case ct.Spec.Targets[0].Target != target:
		return nil, "", specErr("spec.targets[0].target", "%q: want %s", ct.Spec.Targets[0].Target, target)
	}
	version, main, libs, engines, err := templateRego(&ct.Spec.Targets[0])
	if err != nil {
		return nil, "", specErr("spec.targets[0].code", "%v", err)
	}
	if main == "" {
		if len(engines) > 0 {
			return nil, fmt.Sprintf("template %s has no Rego, only the %s engine, which guardrails does not evaluate", ct.Name, strings.Join(engines, ", ")), nil
		}
		return nil, "", specErr("spec.targets[0].rego", "the template has no Rego")
	}
	var paramsSrc string
	var params apiservervalidation.SchemaValidator
	if v := ct.Spec.CRD.Spec.Validation; v != nil && v.OpenAPIV3Schema != nil {
		raw, _ := json.Marshal(v.OpenAPIV3Schema)
		paramsSrc = string(raw)
		if prev != nil && prev.paramsSrc == paramsSrc {
			params = prev.params
		} else if params, err = parametersValidator(raw); err != nil {
			return nil, "", specErr("spec.crd.spec.validation.openAPIV3Schema", "%v", err)
		}
	}
	source := append([]string{version, main}, libs...)
	if prev != nil && prev.kind == kind && slices.Equal(prev.source, source) {
		return &template{name: ct.Name, kind: kind, source: source, query: prev.query, inventory: prev.inventory, params: params, paramsSrc: paramsSrc}, "", nil
	}
	t = &template{name: ct.Name, kind: kind, source: source, params: params, paramsSrc: paramsSrc}
	if errs = compileTemplateRego(r, key, t, version, main, libs); len(errs) > 0 {
		return nil, "", errs
	}
	return t, "", nil
}

// templateRego returns a template target's Rego: from code[] with engine
// Rego (source.rego, source.libs, source.version), else from the legacy
// rego and libs fields (v0). engines are the other engines named in code[].
func templateRego(tg *templatesv1.Target) (version, main string, libs, engines []string, err error) {
	for i, code := range tg.Code {
		if code.Engine != "Rego" {
			engines = append(engines, code.Engine)
			continue
		}
		if code.Source == nil {
			return "", "", nil, nil, fmt.Errorf("code[%d]: source is required", i)
		}
		var src struct {
			Rego    string   `json:"rego"`
			Libs    []string `json:"libs"`
			Version string   `json:"version"`
		}
		raw, _ := json.Marshal(code.Source.Value)
		if err := json.Unmarshal(raw, &src); err != nil {
			return "", "", nil, nil, fmt.Errorf("code[%d].source: %w", i, err)
		}
		switch src.Version {
		case "", "v0", "v1":
		default:
			return "", "", nil, nil, fmt.Errorf("code[%d].source.version %q: want v0 or v1", i, src.Version)
		}
		return cmp.Or(src.Version, "v0"), src.Rego, src.Libs, nil, nil
	}
	if tg.Rego != "" {
		return "v0", tg.Rego, tg.Libs, nil, nil
	}
	return "", "", nil, engines, nil
}

var (
	inventoryRef      = ast.MustParseRef("data.inventory")
	inputInventoryRef = ast.MustParseRef("input.inventory")
	libRoot           = ast.MustParseRef("data.lib")
)

// compileTemplateRego parses and compiles a template's modules and prepares
// its query: the main package's violation, with data.inventory taken from
// input.inventory when the modules read it.
func compileTemplateRego(r Rego, key string, t *template, version, main string, libs []string) []Error {
	rv := ast.RegoV0
	if version == "v1" {
		rv = ast.RegoV1
	}
	var errs []Error
	modules := make(map[string]*ast.Module, 1+len(libs))
	var mainModule *ast.Module
	for i, src := range append([]string{main}, libs...) {
		file := ModuleName(i)
		m, perrs := r.Parse(key, file, src, rv)
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		switch {
		case r.Reserved(m.Package.Path):
			errs = append(errs, errorAt(key, m.Package.Location, fmt.Sprintf("package %s is reserved for the built-in policies and the taxonomy", strings.TrimPrefix(m.Package.Path.String(), "data."))))
		case i > 0 && !m.Package.Path.HasPrefix(libRoot):
			errs = append(errs, errorAt(key, m.Package.Location, fmt.Sprintf("package %s: a library's package must start with lib.", strings.TrimPrefix(m.Package.Path.String(), "data."))))
		}
		modules[file] = m
		if i == 0 {
			mainModule = m
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(inventoryRef) || (len(r) == 1 && r[0].Equal(ast.DefaultRootDocument)) {
				t.inventory = true
			}
			return false
		})
	}
	if mainModule != nil && !DefinesViolation(mainModule) {
		errs = append(errs, errorAt(key, mainModule.Package.Location, fmt.Sprintf("package %s does not define %s", strings.TrimPrefix(mainModule.Package.Path.String(), "data."), violationRule)))
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return errs
	}
	expr := ViolationQuery("v", mainModule.Package.Path)
	if t.inventory {
		expr.With = []*ast.With{{Target: ast.NewTerm(inventoryRef), Value: ast.NewTerm(inputInventoryRef)}}
	}
	q, perrs := r.Prepare(key, modules, ast.NewBody(expr))
	if len(perrs) > 0 {
		return perrs
	}
	t.query = q
	return nil
}

// parametersValidator validates constraints' spec.parameters against a
// template's openAPIV3Schema, as the constraint CRD Gatekeeper generates does.
func parametersValidator(raw []byte) (apiservervalidation.SchemaValidator, error) {
	var v1 apiextensionsv1.JSONSchemaProps
	if err := json.Unmarshal(raw, &v1); err != nil {
		return nil, err
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1, &internal, nil); err != nil {
		return nil, err
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(&internal)
	return sv, err
}

// compileConstraint reads one constraint of template t.
func compileConstraint(u *unstructured.Unstructured, t *template) (*Constraint, []Error) {
	key := Key(u.GetKind(), u.GetName())
	var errs []Error
	specErr := func(at, format string, args ...any) {
		errs = append(errs, Error{Policy: key, Module: at, Message: fmt.Sprintf(format, args...)})
	}
	con := &Constraint{
		Name:     u.GetName(),
		Kind:     u.GetKind(),
		Title:    fmt.Sprintf("%s %s", u.GetKind(), u.GetName()),
		template: t,
	}
	if desc, ok := u.GetAnnotations()["description"]; ok {
		con.Description = desc
	}
	action, _, _ := unstructured.NestedString(u.Object, "spec", "enforcementAction")
	switch action {
	case "", "deny":
		con.Enforcement = string(v1alpha1.EnforcementDeny)
	case "warn":
		con.Enforcement = string(v1alpha1.EnforcementWarn)
	case "dryrun":
		con.Enforcement = string(v1alpha1.EnforcementAudit)
	default:
		specErr("spec.enforcementAction", "%q: want deny, warn or dryrun (scoped enforcement actions are not supported)", action)
	}
	con.params = ast.NewTerm(ast.NewObject())
	if p, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "parameters"); found && p != nil {
		if t.params != nil {
			for _, e := range apiservervalidation.ValidateCustomResource(field.NewPath("spec", "parameters"), p, t.params) {
				specErr(e.Field, "%s", e.ErrorBody())
			}
		}
		v, err := ast.InterfaceToValue(p)
		if err != nil {
			specErr("spec.parameters", "%v", err)
		} else {
			con.params = ast.NewTerm(v)
		}
	}
	if m, found, _ := unstructured.NestedMap(u.Object, "spec", "match"); found {
		raw, _ := json.Marshal(m)
		if err := json.Unmarshal(raw, &con.match); err != nil {
			specErr("spec.match", "%v", err)
		}
	}
	match := &con.match
	switch match.Scope {
	case "", "*", "Cluster", "Namespaced":
	default:
		specErr("spec.match.scope", "%q: want *, Cluster or Namespaced", match.Scope)
	}
	var err error
	if match.LabelSelector != nil {
		if match.labels, err = metav1.LabelSelectorAsSelector(match.LabelSelector); err != nil {
			specErr("spec.match.labelSelector", "%v", err)
		}
	}
	if match.NamespaceSelector != nil {
		if match.namespaceLabels, err = metav1.LabelSelectorAsSelector(match.NamespaceSelector); err != nil {
			specErr("spec.match.namespaceSelector", "%v", err)
		}
	}
	for _, k := range match.Kinds {
		for _, kind := range k.Kinds {
			if !slices.Contains(con.Targets, kind) {
				con.Targets = append(con.Targets, kind)
			}
		}
	}
	if len(con.Targets) == 0 {
		con.Targets = []string{"*"}
	}
	return con, errs
}
