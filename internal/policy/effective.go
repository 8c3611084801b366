package policy

import (
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
	"github.com/martech-guardrails/guardrails/internal/render"
)

var (
	keyEffective = ast.InternedTerm("effective")
	keyResources = ast.InternedTerm("resources")
	keyReplicas  = ast.InternedTerm("replicas")
	keyLimits    = ast.InternedTerm("limits")
	keyRequests  = ast.InternedTerm("requests")
	keyClaims    = ast.InternedTerm("claims")
)

// effectiveTerm is input.effective of a MarketingWorkload: the values it
// runs with under the standard, from render.Effective (the renderer's own
// rule, so policies judge what the Deployment gets): resources (absent when
// neither the spec nor the standard sets any) and replicas. The children's
// labels are derived from the spec alone (status.effective.labels), which
// policies read directly. Nothing is written back into the object.
func effectiveTerm(x any, std *v1alpha1.PlatformStandard) (*ast.Term, error) {
	w, err := typedWorkload(x)
	if err != nil || w == nil {
		return input.EmptyObject(), err
	}
	eff := v1alpha1.EffectiveValues{Resources: render.EffectiveResources(w, std), Replicas: render.EffectiveReplicas(w)}
	pairs := make([][2]*ast.Term, 0, 3)
	if r := eff.Resources; r != nil {
		t, err := resourcesTerm(r)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, ast.Item(keyResources, t))
	}
	if eff.Replicas != nil {
		pairs = append(pairs, ast.Item(keyReplicas, ast.InternedTerm(int(*eff.Replicas))))
	}
	return ast.ObjectTerm(pairs...), nil
}

// typedWorkload returns x as a typed MarketingWorkload (nil for nil).
func typedWorkload(x any) (*v1alpha1.MarketingWorkload, error) {
	switch o := input.PointerTo(x).(type) {
	case nil:
		return nil, nil
	case *v1alpha1.MarketingWorkload:
		return o, nil
	case *unstructured.Unstructured:
		if o == nil {
			return nil, nil
		}
		return fromMap(o.Object)
	case map[string]any:
		return fromMap(o)
	}
	return nil, fmt.Errorf("policy: a MarketingWorkload of type %T", x)
}

func fromMap(m map[string]any) (*v1alpha1.MarketingWorkload, error) {
	var w v1alpha1.MarketingWorkload
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &w); err != nil {
		return nil, fmt.Errorf("policy: reading MarketingWorkload: %w", err)
	}
	return &w, nil
}

// resourcesTerm is r as the API server serialises it: quantities as strings.
func resourcesTerm(r *corev1.ResourceRequirements) (*ast.Term, error) {
	list := func(l corev1.ResourceList) *ast.Term {
		pairs := make([][2]*ast.Term, 0, len(l))
		for _, k := range slices.Sorted(maps.Keys(l)) {
			q := l[k]
			pairs = append(pairs, ast.Item(ast.InternedTerm(string(k)), ast.StringTerm(q.String())))
		}
		return ast.ObjectTerm(pairs...)
	}
	pairs := make([][2]*ast.Term, 0, 3)
	if len(r.Limits) > 0 {
		pairs = append(pairs, ast.Item(keyLimits, list(r.Limits)))
	}
	if len(r.Requests) > 0 {
		pairs = append(pairs, ast.Item(keyRequests, list(r.Requests)))
	}
	if len(r.Claims) > 0 {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(r)
		if err != nil {
			return nil, fmt.Errorf("policy: converting resources: %w", err)
		}
		v, err := ast.InterfaceToValue(m["claims"])
		if err != nil {
			return nil, fmt.Errorf("policy: converting resources: %w", err)
		}
		pairs = append(pairs, ast.Item(keyClaims, ast.NewTerm(v)))
	}
	return ast.ObjectTerm(pairs...), nil
}
