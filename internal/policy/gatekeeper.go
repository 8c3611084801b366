package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	templatesv1 "github.com/open-policy-agent/frameworks/constraint/pkg/apis/templates/v1"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// Gatekeeper's API groups: ConstraintTemplates are templates.gatekeeper.sh/v1,
// each template defines one constraint kind in constraints.gatekeeper.sh.
const (
	GatekeeperTemplateGroup   = "templates.gatekeeper.sh"
	GatekeeperConstraintGroup = "constraints.gatekeeper.sh"
	// gatekeeperTarget is the one target Gatekeeper's templates name.
	gatekeeperTarget = "admission.k8s.gatekeeper.sh"
	// GatekeeperCategory is the category of a constraint's results.
	GatekeeperCategory = "gatekeeper"
)

// TemplateGVK is the kind of a Gatekeeper ConstraintTemplate.
var TemplateGVK = schema.GroupVersionKind{Group: GatekeeperTemplateGroup, Version: "v1", Kind: "ConstraintTemplate"}

// IsGatekeeperTemplate reports whether gvk is a ConstraintTemplate (any version).
func IsGatekeeperTemplate(gvk schema.GroupVersionKind) bool {
	return gvk.Group == GatekeeperTemplateGroup && gvk.Kind == TemplateGVK.Kind
}

// IsGatekeeperConstraint reports whether gvk is a constraint (any kind of
// constraints.gatekeeper.sh).
func IsGatekeeperConstraint(gvk schema.GroupVersionKind) bool {
	return gvk.Group == GatekeeperConstraintGroup && gvk.Kind != ""
}

// GatekeeperReport is what SetGatekeeper made of the templates and
// constraints it was given.
type GatekeeperReport struct {
	// Errors by object, "ConstraintTemplate/<name>" or "<Kind>/<name>":
	// a template that does not compile (line:col in its Rego), a constraint
	// whose template is missing, whose parameters or match cannot be read,
	// or whose name is taken by another policy. A template that fails keeps
	// its last good version in force, if it had one.
	Errors map[string][]CompileError
	// Skipped templates by name, with the reason: a template with no Rego
	// (only the K8sNativeValidation CEL engine) is not evaluated, and its
	// constraints are not in force.
	Skipped map[string]string
}

// ReviewRequest is one Kubernetes object of any kind judged by the
// Gatekeeper constraints in force, as gator's test command does.
type ReviewRequest struct {
	// Object (or OldObject on DELETE) is the object reviewed.
	Object, OldObject *unstructured.Unstructured
	// Operation is input.review.operation; left out when empty, as in
	// Gatekeeper's audit and gator.
	Operation Operation
	// Namespace of the object: its labels are matched by namespaceSelector
	// and given as input.review.namespaceObject.
	Namespace Namespace
	User      *User
	// Inventory is data.inventory.
	Inventory []*unstructured.Unstructured
	Now       time.Time
}

// gkTemplate is a compiled ConstraintTemplate.
type gkTemplate struct {
	name, kind string
	source     []string // version, rego, libs: what the compiled query depends on
	query      rego.PreparedEvalQuery
	inventory  bool // reads data.inventory
	params     apiservervalidation.SchemaValidator
	paramsSrc  string // the parameters schema, as JSON, for reuse
}

// gkConstraint is a constraint in force.
type gkConstraint struct {
	info     Info
	kind     string
	template *gkTemplate
	params   *ast.Term
	match    gkMatch
}

// gkSet is the Gatekeeper part of a policy set. Never modified once built.
type gkSet struct {
	templates   map[string]*gkTemplate // by template name, for reuse
	constraints []*gkConstraint        // by name
	inventory   bool                   // some constraint's template reads data.inventory
}

func (s *gkSet) empty() bool { return s == nil || len(s.constraints) == 0 }

// SetGatekeeper replaces the Gatekeeper templates and constraints in force.
// Readers see the old set or the new one, never a mix; the GuardrailPolicies
// in force are kept.
func (e *Engine) SetGatekeeper(templates, constraints []*unstructured.Unstructured) GatekeeperReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	gk, report := e.comp.compileGatekeeper(templates, constraints, old)
	e.cur.Store(newPolicySet(e.builtins, old.custom, old.errors, old.unknown, gk))
	return report
}

// compileGatekeeper builds the Gatekeeper set from the objects given.
func (c *compiler) compileGatekeeper(templates, constraints []*unstructured.Unstructured, old *policySet) (*gkSet, GatekeeperReport) {
	report := GatekeeperReport{Errors: map[string][]CompileError{}, Skipped: map[string]string{}}
	fail := func(key string, errs ...CompileError) { report.Errors[key] = append(report.Errors[key], errs...) }
	set := &gkSet{templates: map[string]*gkTemplate{}}
	var prev map[string]*gkTemplate
	if old.gk != nil {
		prev = old.gk.templates
	}
	byKind := map[string]*gkTemplate{}
	for _, u := range sortByName(templates) {
		key := "ConstraintTemplate/" + u.GetName()
		t, skipped, errs := c.compileTemplate(u, prev[u.GetName()])
		switch {
		case skipped != "":
			report.Skipped[u.GetName()] = skipped
			continue
		case len(errs) > 0:
			fail(key, errs...)
			if t = prev[u.GetName()]; t == nil {
				continue // no last good version
			}
		}
		if other := byKind[t.kind]; other != nil {
			fail(key, CompileError{Policy: key, Module: "spec.crd.spec.names.kind", Message: fmt.Sprintf("kind %s is already defined by template %q", t.kind, other.name)})
			continue
		}
		set.templates[t.name] = t
		byKind[t.kind] = t
	}
	taken := map[string]bool{}
	for _, info := range old.infos {
		if !info.Gatekeeper {
			taken[info.Name] = true
		}
	}
	for _, u := range sortByName(constraints) {
		key := u.GetKind() + "/" + u.GetName()
		if skippedTemplateOf(report.Skipped, u.GetKind()) {
			continue
		}
		t := byKind[u.GetKind()]
		if t == nil {
			fail(key, CompileError{Policy: key, Module: "kind", Message: fmt.Sprintf("no ConstraintTemplate in force defines kind %s", u.GetKind())})
			continue
		}
		con, errs := compileConstraint(u, t)
		if len(errs) == 0 && taken[con.info.Name] {
			errs = append(errs, CompileError{Policy: key, Module: "metadata.name", Message: fmt.Sprintf("%q is already the name of a policy in force", con.info.Name)})
		}
		if len(errs) > 0 {
			fail(key, errs...)
			continue
		}
		taken[con.info.Name] = true
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
func (c *compiler) compileTemplate(u *unstructured.Unstructured, prev *gkTemplate) (t *gkTemplate, skipped string, errs []CompileError) {
	key := "ConstraintTemplate/" + u.GetName()
	specErr := func(at, format string, args ...any) []CompileError {
		return []CompileError{{Policy: key, Module: at, Message: fmt.Sprintf(format, args...)}}
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
		return nil, "", specErr("spec.targets", "exactly one target is required, %s", gatekeeperTarget)
	case ct.Spec.Targets[0].Target != gatekeeperTarget:
		return nil, "", specErr("spec.targets[0].target", "%q: want %s", ct.Spec.Targets[0].Target, gatekeeperTarget)
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
		return &gkTemplate{name: ct.Name, kind: kind, source: source, query: prev.query, inventory: prev.inventory, params: params, paramsSrc: paramsSrc}, "", nil
	}
	t = &gkTemplate{name: ct.Name, kind: kind, source: source, params: params, paramsSrc: paramsSrc}
	if errs = c.compileTemplateRego(key, t, version, main, libs); len(errs) > 0 {
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
func (c *compiler) compileTemplateRego(key string, t *gkTemplate, version, main string, libs []string) []CompileError {
	rv := ast.RegoV0
	if version == "v1" {
		rv = ast.RegoV1
	}
	var errs []CompileError
	modules := make(map[string]*ast.Module, 1+len(libs))
	var mainModule *ast.Module
	for i, src := range append([]string{main}, libs...) {
		file := moduleName(i)
		m, err := ast.ParseModuleWithOpts(file, src, ast.ParserOptions{RegoVersion: rv, Capabilities: c.caps, ProcessAnnotation: true})
		if err != nil {
			errs = append(errs, fromOPA(key, err, c.denied, nil)...)
			continue
		}
		if m == nil {
			errs = append(errs, CompileError{Policy: key, Module: file, Message: "empty module: a package declaration is required"})
			continue
		}
		switch {
		case reserved(m.Package.Path):
			errs = append(errs, compileErrorAt(key, m.Package.Location, fmt.Sprintf("package %s is reserved for the built-in policies and the taxonomy", strings.TrimPrefix(m.Package.Path.String(), "data."))))
		case i > 0 && !m.Package.Path.HasPrefix(libRoot):
			errs = append(errs, compileErrorAt(key, m.Package.Location, fmt.Sprintf("package %s: a library's package must start with lib.", strings.TrimPrefix(m.Package.Path.String(), "data."))))
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
	if mainModule != nil && !definesViolation(mainModule) {
		errs = append(errs, compileErrorAt(key, mainModule.Package.Location, fmt.Sprintf("package %s does not define %s", strings.TrimPrefix(mainModule.Package.Path.String(), "data."), violationRule)))
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return errs
	}
	comp, cerrs := c.compile(key, modules)
	if len(cerrs) > 0 {
		return cerrs
	}
	expr := violationQuery("v", mainModule.Package.Path)
	if t.inventory {
		expr.With = []*ast.With{{Target: ast.NewTerm(inventoryRef), Value: ast.NewTerm(inputInventoryRef)}}
	}
	q, err := c.prep(ast.NewBody(expr), comp)
	if err != nil {
		return fromOPA(key, err, c.denied, nil)
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

// gkMatch is a constraint's spec.match.
type gkMatch struct {
	Kinds              []gkKinds             `json:"kinds"`
	Scope              string                `json:"scope"`
	Namespaces         []string              `json:"namespaces"`
	ExcludedNamespaces []string              `json:"excludedNamespaces"`
	LabelSelector      *metav1.LabelSelector `json:"labelSelector"`
	NamespaceSelector  *metav1.LabelSelector `json:"namespaceSelector"`
	Name               string                `json:"name"`

	labels, namespaceLabels labels.Selector
}

// gkKinds is one entry of a constraint's spec.match.kinds.
type gkKinds struct {
	APIGroups []string `json:"apiGroups"`
	Kinds     []string `json:"kinds"`
}

// compileConstraint reads one constraint of template t.
func compileConstraint(u *unstructured.Unstructured, t *gkTemplate) (*gkConstraint, []CompileError) {
	key := u.GetKind() + "/" + u.GetName()
	var errs []CompileError
	specErr := func(at, format string, args ...any) {
		errs = append(errs, CompileError{Policy: key, Module: at, Message: fmt.Sprintf(format, args...)})
	}
	con := &gkConstraint{kind: u.GetKind(), template: t, info: Info{
		Name:     u.GetName(),
		Title:    fmt.Sprintf("%s %s", u.GetKind(), u.GetName()),
		Severity: string(v1alpha1.SeverityMedium),
		Category: GatekeeperCategory,
	}}
	con.info.Gatekeeper = true
	if desc, ok := u.GetAnnotations()["description"]; ok {
		con.info.Description = desc
	}
	action, _, _ := unstructured.NestedString(u.Object, "spec", "enforcementAction")
	switch action {
	case "", "deny":
		con.info.Enforcement = string(v1alpha1.EnforcementDeny)
	case "warn":
		con.info.Enforcement = string(v1alpha1.EnforcementWarn)
	case "dryrun":
		con.info.Enforcement = string(v1alpha1.EnforcementAudit)
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
			if !slices.Contains(con.info.Targets, kind) {
				con.info.Targets = append(con.info.Targets, kind)
			}
		}
	}
	if len(con.info.Targets) == 0 {
		con.info.Targets = []string{"*"}
	}
	return con, errs
}

// reviewed is an object under review, for matching.
type reviewed struct {
	group, version, kind, name, namespace string
	labels                                labels.Set
	namespaced                            bool
	nsLabels                              labels.Set
}

// matches reports whether the constraint's match selects o, as Gatekeeper
// matches: kinds, scope, namespaces, excludedNamespaces (with * prefix and
// suffix globs), name, labelSelector and namespaceSelector.
func (m *gkMatch) matches(o reviewed) bool {
	if len(m.Kinds) > 0 && !slices.ContainsFunc(m.Kinds, func(k gkKinds) bool {
		return anyOf(k.APIGroups, o.group) && anyOf(k.Kinds, o.kind)
	}) {
		return false
	}
	switch m.Scope {
	case "Cluster":
		if o.namespaced {
			return false
		}
	case "Namespaced":
		if !o.namespaced {
			return false
		}
	}
	if o.namespaced {
		if len(m.Namespaces) > 0 && !slices.ContainsFunc(m.Namespaces, func(p string) bool { return glob(p, o.namespace) }) {
			return false
		}
		if slices.ContainsFunc(m.ExcludedNamespaces, func(p string) bool { return glob(p, o.namespace) }) {
			return false
		}
		if m.namespaceLabels != nil && !m.namespaceLabels.Matches(o.nsLabels) {
			return false
		}
	}
	if m.Name != "" && !glob(m.Name, o.name) {
		return false
	}
	return m.labels == nil || m.labels.Matches(o.labels)
}

// anyOf: an empty list or "*" matches everything.
func anyOf(list []string, s string) bool {
	return len(list) == 0 || slices.Contains(list, "*") || slices.Contains(list, s)
}

// glob matches Gatekeeper's wildcards: a leading or trailing *.
func glob(pattern, s string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(s, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, strings.TrimPrefix(pattern, "*"))
	}
	ok, _ := path.Match(pattern, s)
	return ok || pattern == s
}

// gkSubject is one object judged by the constraints: its AST value, what
// matching needs, and the Gatekeeper review around it.
type gkSubject struct {
	value ast.Value
	meta  reviewed
}

var (
	keyInventory       = ast.InternedTerm("inventory")
	keyNamespaceObject = ast.InternedTerm("namespaceObject")
	keyCluster         = ast.InternedTerm("cluster")
	keyMetadata        = ast.InternedTerm("metadata")
	keyDryRun          = ast.InternedTerm("dryRun")
)

// gkReview is Gatekeeper's input.review for s.
func gkReview(s *gkSubject, old ast.Value, op Operation, user *ast.Term) *ast.Term {
	oldTerm := ast.NullTerm()
	if old != nil {
		oldTerm = ast.NewTerm(old)
	}
	pairs := [][2]*ast.Term{
		ast.Item(input.KeyObject, ast.NewTerm(s.value)),
		ast.Item(input.KeyOldObject, oldTerm),
		ast.Item(input.KeyUserInfo, user),
		ast.Item(input.KeyKind, ast.ObjectTerm(
			ast.Item(input.KeyGroup, ast.StringTerm(s.meta.group)),
			ast.Item(input.KeyVersion, ast.StringTerm(s.meta.version)),
			ast.Item(input.KeyKind, ast.StringTerm(s.meta.kind)),
		)),
		ast.Item(input.KeyName, ast.StringTerm(s.meta.name)),
		ast.Item(keyDryRun, ast.BooleanTerm(false)),
	}
	switch op {
	case OperationCreate, OperationUpdate, OperationDelete:
		pairs = append(pairs, ast.Item(input.KeyOperation, ast.StringTerm(string(op))))
	}
	if s.meta.namespaced {
		pairs = append(pairs,
			ast.Item(input.KeyNamespace, ast.StringTerm(s.meta.namespace)),
			ast.Item(keyNamespaceObject, ast.ObjectTerm(
				ast.Item(input.KeyAPIVersion, ast.StringTerm("v1")),
				ast.Item(input.KeyKind, ast.StringTerm("Namespace")),
				ast.Item(keyMetadata, ast.ObjectTerm(
					ast.Item(input.KeyName, ast.StringTerm(s.meta.namespace)),
					ast.Item(input.KeyLabels, input.StringMap(s.meta.nsLabels)),
				)),
			)))
	}
	return ast.ObjectTerm(pairs...)
}

// inventoryTerm is data.inventory in Gatekeeper's layout:
// namespace[ns][apiVersion][kind][name] and cluster[apiVersion][kind][name].
func inventoryTerm(objs []*gkSubject) *ast.Term {
	ns := ast.NewObject()
	cluster := ast.NewObject()
	put := func(root ast.Object, keys []string, v ast.Value) {
		o := root
		for _, k := range keys[:len(keys)-1] {
			var next ast.Object
			if t := o.Get(ast.StringTerm(k)); t != nil {
				next, _ = t.Value.(ast.Object)
			}
			if next == nil {
				next = ast.NewObject()
				o.Insert(ast.StringTerm(k), ast.NewTerm(next))
			}
			o = next
		}
		o.Insert(ast.StringTerm(keys[len(keys)-1]), ast.NewTerm(v))
	}
	for _, s := range objs {
		gv := schema.GroupVersion{Group: s.meta.group, Version: s.meta.version}.String()
		if s.meta.namespaced {
			put(ns, []string{s.meta.namespace, gv, s.meta.kind, s.meta.name}, s.value)
		} else {
			put(cluster, []string{gv, s.meta.kind, s.meta.name}, s.value)
		}
	}
	return ast.ObjectTerm(ast.Item(input.KeyNamespace, ast.NewTerm(ns)), ast.Item(keyCluster, ast.NewTerm(cluster)))
}

// Inventory is a set of objects for data.inventory, converted for the
// policies once, so that the many requests of a batch (a CLI run) share one
// conversion. It is read-only once built.
type Inventory struct {
	objs []*gkSubject
}

// NewInventory converts objs for data.inventory. The objects are not kept.
func NewInventory(objs []*unstructured.Unstructured) (*Inventory, error) {
	inv := &Inventory{objs: make([]*gkSubject, 0, len(objs))}
	for _, o := range objs {
		s, err := unstructuredSubject(o, nil)
		if err != nil {
			return nil, err
		}
		inv.objs = append(inv.objs, s)
	}
	return inv, nil
}

// Len is the number of objects in the inventory.
func (inv *Inventory) Len() int {
	if inv == nil {
		return 0
	}
	return len(inv.objs)
}

// unstructuredSubject converts u for review; nsLabels are its namespace's.
func unstructuredSubject(u *unstructured.Unstructured, nsLabels map[string]string) (*gkSubject, error) {
	v, err := ast.InterfaceToValue(u.Object)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	gvk := u.GroupVersionKind()
	return &gkSubject{value: v, meta: reviewed{
		group: gvk.Group, version: gvk.Version, kind: gvk.Kind, name: u.GetName(), namespace: u.GetNamespace(),
		labels: u.GetLabels(), namespaced: u.GetNamespace() != "", nsLabels: nsLabels,
	}}, nil
}

// gatekeeper evaluates every constraint matching s and returns the results;
// subject and namespace are what exceptions are looked up for.
func (ev *evaluation) gatekeeper(gk *gkSet, s *gkSubject, old ast.Value, op Operation, inventory *ast.Term, subject *input.Object, namespace string) (results []Result, names []string, outcomes []outcome, err error) {
	var review *ast.Term
	for _, con := range gk.constraints {
		if !con.match.matches(s.meta) {
			continue
		}
		if settingOf(ev.disabled, ev.overrides, con.info).Disabled {
			continue
		}
		if review == nil {
			review = gkReview(s, old, op, ev.shared.User)
		}
		pairs := [][2]*ast.Term{ast.Item(input.KeyReview, review), ast.Item(input.KeyParameters, con.params)}
		if con.template.inventory && inventory != nil {
			pairs = append(pairs, ast.Item(keyInventory, inventory))
		}
		v, rerr := ev.run(con.template.query, nil, ast.NewObject(pairs...), []string{"v"})
		if rerr != nil && ev.ctx.Err() != nil {
			return nil, nil, nil, ev.ctx.Err()
		}
		names = append(names, con.info.Name)
		outcomes = append(outcomes, outcome{policy: con.info.Name, failed: rerr != nil})
		if rerr != nil {
			results = append(results, ev.failure(&con.info, subject, namespace, rerr))
			continue
		}
		results = ev.results(results, &con.info, subject, namespace, v[0])
	}
	return results, names, outcomes, nil
}

// Review judges req.Object with every constraint in force that matches it.
// The decision's results are named after the constraints.
func (e *Engine) Review(ctx context.Context, req ReviewRequest) (*Decision, error) {
	start := time.Now()
	set := e.cur.Load()
	u := req.Object
	var oldValue ast.Value
	if req.OldObject != nil {
		o, err := unstructuredSubject(req.OldObject, nil)
		if err != nil {
			return nil, err
		}
		oldValue = o.value
		if u == nil {
			u = req.OldObject
		}
	}
	if u == nil {
		return nil, ErrNoObject
	}
	if u.GetNamespace() == "" && req.Namespace.Name != "" {
		u = u.DeepCopy()
		u.SetNamespace(req.Namespace.Name)
	}
	s, err := unstructuredSubject(u, req.Namespace.Labels)
	if err != nil {
		return nil, err
	}
	ev, done, err := e.newEvaluation(ctx, &Request{User: req.User, Namespace: req.Namespace, Now: req.Now}, set, start)
	if err != nil {
		return nil, err
	}
	defer done()
	var inventory *ast.Term
	if set.gk != nil && set.gk.inventory {
		inv, err := NewInventory(req.Inventory)
		if err != nil {
			return nil, err
		}
		inventory = inventoryTerm(inv.objs)
	}
	subject := &input.Object{Kind: s.meta.kind, Namespace: s.meta.namespace, Name: s.meta.name}
	d := &Decision{Kind: s.meta.kind, Namespace: s.meta.namespace, Name: s.meta.name}
	if set.gk != nil {
		d.Results, d.Policies, _, err = ev.gatekeeper(set.gk, s, oldValue, req.Operation, inventory, subject, s.meta.namespace)
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(d.Results, func(a, b Result) int { return strings.Compare(a.Policy, b.Policy) })
	slices.Sort(d.Policies)
	return d, nil
}

// without returns s less the constraints whose names are taken (by a
// built-in or a GuardrailPolicy put in force after the constraint).
func (s *gkSet) without(taken []string) *gkSet {
	if s == nil {
		return nil
	}
	keep := slices.DeleteFunc(slices.Clone(s.constraints), func(c *gkConstraint) bool { return slices.Contains(taken, c.info.Name) })
	if len(keep) == len(s.constraints) {
		return s
	}
	c := *s
	c.constraints = keep
	return &c
}

// gatekeeperInfos are the infos of the constraints in force.
func (s *gkSet) infos() []Info {
	if s == nil {
		return nil
	}
	out := make([]Info, 0, len(s.constraints))
	for _, c := range s.constraints {
		out = append(out, c.info)
	}
	return out
}

// ReadsInventory reports whether a constraint in force reads data.inventory,
// so that a door fills Request.Inventory only when it is read.
func (e *Engine) ReadsInventory() bool {
	gk := e.cur.Load().gk
	return !gk.empty() && gk.inventory
}
