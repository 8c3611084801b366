package gatekeeper

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// Subject is one object judged by the constraints: its AST value and what
// matching and Gatekeeper's input.review need.
type Subject struct {
	Value                                 ast.Value
	Group, Version, Kind, Name, Namespace string
	Labels                                labels.Set
	Namespaced                            bool
	NamespaceLabels                       labels.Set // of its namespace
}

// SubjectOf converts u for review; nsLabels are its namespace's. It is
// namespaced when it has a namespace.
func SubjectOf(u *unstructured.Unstructured, nsLabels map[string]string) (*Subject, error) {
	v, err := ast.InterfaceToValue(u.Object)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", u.GetKind(), u.GetName(), err)
	}
	gvk := u.GroupVersionKind()
	return &Subject{
		Value: v, Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Name: u.GetName(), Namespace: u.GetNamespace(),
		Labels: u.GetLabels(), Namespaced: u.GetNamespace() != "", NamespaceLabels: nsLabels,
	}, nil
}

var (
	keyInventory       = ast.InternedTerm("inventory")
	keyNamespaceObject = ast.InternedTerm("namespaceObject")
	keyCluster         = ast.InternedTerm("cluster")
	keyMetadata        = ast.InternedTerm("metadata")
	keyDryRun          = ast.InternedTerm("dryRun")
)

// Review is Gatekeeper's input.review of s: old is the stored object on
// UPDATE and DELETE (nil: none), op the admission operation (left out
// unless CREATE, UPDATE or DELETE, as in Gatekeeper's audit and gator),
// user input.review.userInfo.
func Review(s *Subject, old ast.Value, op string, user *ast.Term) *ast.Term {
	oldTerm := ast.NullTerm()
	if old != nil {
		oldTerm = ast.NewTerm(old)
	}
	pairs := [][2]*ast.Term{
		ast.Item(input.KeyObject, ast.NewTerm(s.Value)),
		ast.Item(input.KeyOldObject, oldTerm),
		ast.Item(input.KeyUserInfo, user),
		ast.Item(input.KeyKind, ast.ObjectTerm(
			ast.Item(input.KeyGroup, ast.StringTerm(s.Group)),
			ast.Item(input.KeyVersion, ast.StringTerm(s.Version)),
			ast.Item(input.KeyKind, ast.StringTerm(s.Kind)),
		)),
		ast.Item(input.KeyName, ast.StringTerm(s.Name)),
		ast.Item(keyDryRun, ast.BooleanTerm(false)),
	}
	switch op {
	case "CREATE", "UPDATE", "DELETE":
		pairs = append(pairs, ast.Item(input.KeyOperation, ast.StringTerm(op)))
	}
	if s.Namespaced {
		pairs = append(pairs,
			ast.Item(input.KeyNamespace, ast.StringTerm(s.Namespace)),
			ast.Item(keyNamespaceObject, ast.ObjectTerm(
				ast.Item(input.KeyAPIVersion, ast.StringTerm("v1")),
				ast.Item(input.KeyKind, ast.StringTerm("Namespace")),
				ast.Item(keyMetadata, ast.ObjectTerm(
					ast.Item(input.KeyName, ast.StringTerm(s.Namespace)),
					ast.Item(input.KeyLabels, input.StringMap(s.NamespaceLabels)),
				)),
			)))
	}
	return ast.ObjectTerm(pairs...)
}

// inventoryTerm is data.inventory in Gatekeeper's layout:
// namespace[ns][apiVersion][kind][name] and cluster[apiVersion][kind][name].
func inventoryTerm(objs []*Subject) *ast.Term {
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
		gv := schema.GroupVersion{Group: s.Group, Version: s.Version}.String()
		if s.Namespaced {
			put(ns, []string{s.Namespace, gv, s.Kind, s.Name}, s.Value)
		} else {
			put(cluster, []string{gv, s.Kind, s.Name}, s.Value)
		}
	}
	return ast.ObjectTerm(ast.Item(input.KeyNamespace, ast.NewTerm(ns)), ast.Item(keyCluster, ast.NewTerm(cluster)))
}

// Inventory is a set of objects for data.inventory, converted for the
// policies once, so that the many requests of a batch (a CLI run) share one
// conversion. It is read-only once built.
type Inventory struct {
	objs []*Subject
}

// NewInventory converts objs for data.inventory. The objects are not kept.
func NewInventory(objs []*unstructured.Unstructured) (*Inventory, error) {
	inv := &Inventory{objs: make([]*Subject, 0, len(objs))}
	for _, o := range objs {
		s, err := SubjectOf(o, nil)
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

// Term is data.inventory of the inventory's objects and more (a
// workload's rendered children, say); a nil inventory has none.
func (inv *Inventory) Term(more ...*Subject) *ast.Term {
	all := make([]*Subject, 0, inv.Len()+len(more))
	if inv != nil {
		all = append(all, inv.objs...)
	}
	return inventoryTerm(append(all, more...))
}
