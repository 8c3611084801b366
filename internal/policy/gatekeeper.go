package policy

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// The engine's side of Gatekeeper support: package gatekeeper compiles
// templates and constraints (through templateCompiler, the engine's Rego
// compiler) and matches objects; the engine puts the constraints in force
// beside the other policies and evaluates them under its budget,
// exceptions and standard.

// GatekeeperReport is what SetGatekeeper made of the templates and
// constraints it was given.
type GatekeeperReport struct {
	// Errors by object, "ConstraintTemplate/<name>" or "<Kind>/<name>"
	// (gatekeeper.Key): a template that does not compile (line:col in its
	// Rego), a constraint whose template is missing, whose parameters or
	// match cannot be read, or whose name is taken by another policy. A
	// template that fails keeps its last good version in force, if it had
	// one.
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

// gkSet is the Gatekeeper part of a policy set: the constraints in force
// and their infos (infos[i] is constraints[i]'s). Never modified once built.
type gkSet struct {
	set   *gatekeeper.Set
	infos []Info
}

func newGKSet(s *gatekeeper.Set) *gkSet {
	if s == nil {
		return nil
	}
	gk := &gkSet{set: s, infos: make([]Info, 0, len(s.Constraints()))}
	for _, c := range s.Constraints() {
		gk.infos = append(gk.infos, Info{
			Name:        c.Name,
			Title:       c.Title,
			Description: c.Description,
			Enforcement: c.Enforcement,
			Severity:    gatekeeper.Severity,
			Category:    gatekeeper.Category,
			Targets:     c.Targets,
			Gatekeeper:  true,
		})
	}
	return gk
}

func (s *gkSet) empty() bool { return s == nil || s.set.Empty() }

// readsInventory reports whether a constraint in force reads data.inventory.
func (s *gkSet) readsInventory() bool { return s != nil && s.set.ReadsInventory() }

// without returns s less the constraints whose names are taken (by a
// built-in or a GuardrailPolicy put in force after the constraint).
func (s *gkSet) without(taken []string) *gkSet {
	if s == nil {
		return nil
	}
	w := s.set.Without(taken)
	if w == s.set {
		return s
	}
	return newGKSet(w)
}

// constraintInfos are the infos of the constraints in force.
func (s *gkSet) constraintInfos() []Info {
	if s == nil {
		return nil
	}
	return s.infos
}

// templateCompiler lends the engine's Rego compiler to package gatekeeper
// (gatekeeper.Rego).
type templateCompiler struct{ c *compiler }

// Parse parses one module of a template in the Rego version v.
func (t templateCompiler) Parse(key, file, src string, v ast.RegoVersion) (*ast.Module, []gatekeeper.Error) {
	m, errs := t.c.parseVersion(key, file, src, v)
	return m, gatekeeperErrors(errs)
}

// Reserved reports whether a template's module may not use the package path.
func (templateCompiler) Reserved(path ast.Ref) bool { return reserved(path) }

// Prepare compiles a template's modules and prepares query against them.
func (t templateCompiler) Prepare(key string, modules map[string]*ast.Module, query ast.Body) (rego.PreparedEvalQuery, []gatekeeper.Error) {
	comp, errs := t.c.compile(key, modules)
	if len(errs) > 0 {
		return rego.PreparedEvalQuery{}, gatekeeperErrors(errs)
	}
	q, err := t.c.prep(query, comp)
	if err != nil {
		return rego.PreparedEvalQuery{}, gatekeeperErrors(fromOPA(key, err, t.c.denied, nil))
	}
	return q, nil
}

func gatekeeperErrors(errs []CompileError) []gatekeeper.Error {
	if len(errs) == 0 {
		return nil
	}
	out := make([]gatekeeper.Error, len(errs))
	for i, e := range errs {
		out[i] = gatekeeper.Error(e)
	}
	return out
}

// SetGatekeeper replaces the Gatekeeper templates and constraints in force.
// Readers see the old set or the new one, never a mix; the GuardrailPolicies
// in force are kept.
func (e *Engine) SetGatekeeper(templates, constraints []*unstructured.Unstructured) GatekeeperReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	var prev *gatekeeper.Set
	if old.gk != nil {
		prev = old.gk.set
	}
	taken := map[string]bool{}
	for _, info := range old.infos {
		if !info.Gatekeeper {
			taken[info.Name] = true
		}
	}
	set, rep := gatekeeper.Compile(templateCompiler{e.comp}, templates, constraints, prev, taken)
	e.cur.Store(newPolicySet(e.builtins, old.custom, old.errors, old.unknown, newGKSet(set)))
	report := GatekeeperReport{Skipped: rep.Skipped}
	if rep.Errors != nil {
		report.Errors = make(map[string][]CompileError, len(rep.Errors))
		for key, errs := range rep.Errors {
			ces := make([]CompileError, len(errs))
			for i, err := range errs {
				ces[i] = CompileError(err)
			}
			report.Errors[key] = ces
		}
	}
	return report
}

// gatekeeper evaluates every constraint matching s and returns the results;
// subject and namespace are what exceptions are looked up for.
func (ev *evaluation) gatekeeper(gk *gkSet, s *gatekeeper.Subject, old ast.Value, op Operation, inventory *ast.Term, subject *input.Object, namespace string) (results []Result, names []string, outcomes []outcome, err error) {
	var review *ast.Term
	for i, con := range gk.set.Constraints() {
		if !con.Matches(s) {
			continue
		}
		info := &gk.infos[i]
		if settingOf(ev.disabled, ev.overrides, *info).Disabled {
			continue
		}
		if review == nil {
			review = gatekeeper.Review(s, old, string(op), ev.shared.User)
		}
		v, rerr := ev.run(con.Query(), nil, con.Input(review, inventory), []string{"v"})
		if rerr != nil && ev.ctx.Err() != nil {
			return nil, nil, nil, ev.ctx.Err()
		}
		names = append(names, info.Name)
		outcomes = append(outcomes, outcome{policy: info.Name, failed: rerr != nil})
		if rerr != nil {
			results = append(results, ev.failure(info, subject, namespace, rerr))
			continue
		}
		results = ev.results(results, info, subject, namespace, v[0])
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
		o, err := gatekeeper.SubjectOf(req.OldObject, nil)
		if err != nil {
			return nil, err
		}
		oldValue = o.Value
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
	s, err := gatekeeper.SubjectOf(u, req.Namespace.Labels)
	if err != nil {
		return nil, err
	}
	ev, done, err := e.newEvaluation(ctx, &Request{User: req.User, Namespace: req.Namespace, Now: req.Now}, set, start)
	if err != nil {
		return nil, err
	}
	defer done()
	var inventory *ast.Term
	if set.gk.readsInventory() {
		inv, err := gatekeeper.NewInventory(req.Inventory)
		if err != nil {
			return nil, err
		}
		inventory = inv.Term()
	}
	subject := &input.Object{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
	d := &Decision{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
	if set.gk != nil {
		d.Results, d.Policies, _, err = ev.gatekeeper(set.gk, s, oldValue, req.Operation, inventory, subject, s.Namespace)
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(d.Results, func(a, b Result) int { return strings.Compare(a.Policy, b.Policy) })
	slices.Sort(d.Policies)
	return d, nil
}

// ReadsInventory reports whether a constraint in force reads data.inventory,
// so that a door fills Request.Inventory only when it is read.
func (e *Engine) ReadsInventory() bool {
	gk := e.cur.Load().gk
	return !gk.empty() && gk.readsInventory()
}
