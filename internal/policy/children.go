package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
	"github.com/martech-guardrails/guardrails/internal/render"
)

var keyOwner = ast.InternedTerm("owner")

// renderedChild is one child the renderer produced, for the policies.
type renderedChild struct {
	obj *input.Object
	gk  *gatekeeper.Subject
}

// children judges the children the renderer would produce for the workload
// w (wl in the input's form) with the GuardrailPolicies targeting their kinds and
// the Gatekeeper constraints matching them. Their results are the
// workload's: Policy reads "<policy> (<Kind>/<name>)" and Field is the path
// inside the child. A workload the renderer cannot render (an integration
// it references is missing, an invalid name) has no children to judge: the
// built-ins and the reconciler report why.
func (ev *evaluation) children(req *Request, w *v1alpha1.MarketingWorkload, wl *input.Object, op Operation, namespace string, integrations *ast.Term) ([]Result, []string, []outcome, error) {
	if w == nil {
		return nil, nil, nil, nil
	}
	if w.Namespace == "" {
		w = w.DeepCopy()
		w.Namespace = namespace
	}
	kids, _, err := render.Render(render.Inputs{Workload: w, Standard: req.Standard, Integrations: req.Integrations, Vendors: req.Vendors, Now: ev.now})
	if err != nil {
		if errors.Is(err, render.ErrNotFound) || errors.Is(err, render.ErrInvalid) {
			return nil, nil, nil, nil
		}
		return nil, nil, nil, err
	}
	objs := kids.Objects()
	rendered := make([]renderedChild, 0, len(objs))
	for _, o := range objs {
		c, err := childOf(o, ev.nsLabels)
		if err != nil {
			return nil, nil, nil, err
		}
		rendered = append(rendered, c)
	}
	var inventory *ast.Term
	if ev.set.gk.readsInventory() {
		kids := make([]*gatekeeper.Subject, len(rendered))
		for i, c := range rendered {
			kids[i] = c.gk
		}
		inventory = req.Inventory.Term(kids...)
	}
	owner := ast.NewTerm(wl.Value)
	var results []Result
	var names []string
	var outcomes []outcome
	for _, c := range rendered {
		// The GuardrailPolicies targeting the child's kind, as for any
		// subject (no built-in or engine check targets a child kind).
		in := input.NewDocument(ev.shared, string(op), c.obj, nil, c.obj, namespace, integrations)
		in.Add(keyOwner, owner)
		cd, outs, err := ev.object(c.obj, namespace, in)
		if err != nil {
			return nil, nil, nil, err
		}
		rs := cd.Results
		names = append(names, cd.Policies...)
		outcomes = append(outcomes, outs...)
		if gk := ev.set.gk; !gk.empty() {
			grs, gnames, gouts, err := ev.gatekeeper(gk, c.gk, nil, op, inventory, c.obj, namespace)
			if err != nil {
				return nil, nil, nil, err
			}
			rs = append(rs, grs...)
			names = append(names, gnames...)
			outcomes = append(outcomes, gouts...)
		}
		for i := range rs {
			r := &rs[i]
			if r.Exception == nil {
				// An exception for the workload waives its children's results too.
				r.Exception = ev.waivers.find(r.Policy, wl.Kind, namespace, wl.Name)
			}
			r.Policy = ChildResultName(r.Policy, c.obj.Kind, c.obj.Name)
		}
		results = append(results, rs...)
	}
	return results, names, outcomes, nil
}

// ChildResultName is the name of a result a policy gave on a rendered child:
// "<policy> (<Kind>/<name>)".
func ChildResultName(policy, kind, name string) string {
	return fmt.Sprintf("%s (%s/%s)", policy, kind, name)
}

// OfResult is the name of the policy that gave a result: Policy, less
// the " (<Kind>/<name>)" of a result on a rendered child.
func OfResult(name string) string {
	if i := strings.Index(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		return name[:i]
	}
	return name
}

// childOf converts a rendered child for the input and for matching.
func childOf(o client.Object, nsLabels map[string]string) (renderedChild, error) {
	gvk := o.GetObjectKind().GroupVersionKind()
	v, err := input.JSONValue(o)
	if err != nil {
		return renderedChild{}, fmt.Errorf("policy: converting rendered %s %q: %w", gvk.Kind, o.GetName(), err)
	}
	obj := &input.Object{Kind: gvk.Kind, APIVersion: gvk.GroupVersion().String(), Namespace: o.GetNamespace(), Name: o.GetName(), Value: v}
	return renderedChild{obj: obj, gk: &gatekeeper.Subject{
		Value: v, Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Name: o.GetName(), Namespace: o.GetNamespace(),
		Labels: o.GetLabels(), Namespaced: true, NamespaceLabels: nsLabels,
	}}, nil
}

// childrenJudged reports whether Evaluate judges subject's rendered children.
func (s *policySet) childrenJudged(kind string, obj *input.Object) bool {
	return s.children && kind == v1alpha1.KindMarketingWorkload && obj != nil
}
