package input

import (
	"cmp"
	"fmt"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Object is an object of a request in Go and in AST form.
type Object struct {
	Kind, APIVersion, Namespace, Name string
	Value                             ast.Value
}

// Stored is a typed object as the API server stores it: a Vendor, a
// SaaSIntegration, a rendered child.
type Stored interface {
	metav1.Object
	runtime.Object
}

// typedKind is the kind of our typed objects (v1alpha1.KindOf), for
// objects whose TypeMeta is empty (as typed objects read through a client
// often are); "" for any other object.
func typedKind(x any) string {
	k, _ := v1alpha1.KindOf(x)
	return k.Name
}

// ToObject converts x (nil, typed, unstructured or a map) for the input.
// A nil object, or a nil pointer to one, gives nil.
func ToObject(x any) (*Object, error) {
	x = PointerTo(x)
	var m map[string]any
	switch o := x.(type) {
	case nil:
		return nil, nil
	case *unstructured.Unstructured:
		if o == nil {
			return nil, nil
		}
		m = o.Object
	case map[string]any:
		m = o
	case Stored:
		if IsNilPointer(o) {
			return nil, nil
		}
		// A typed object: straight from its JSON (see JSONValue).
		return TypedObject(o)
	default:
		return nil, fmt.Errorf("policy: unsupported object type %T", x)
	}
	obj := &Object{}
	obj.Kind, _ = m["kind"].(string)
	obj.APIVersion, _ = m["apiVersion"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		obj.Name, _ = md["name"].(string)
		obj.Namespace, _ = md["namespace"].(string)
	}
	v, err := ast.InterfaceToValue(m)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", obj.Kind, obj.Name, err)
	}
	obj.Value = v
	return obj, nil
}

// typedObjectMeta is a typed object's kind, apiVersion, namespace and name.
func typedObjectMeta(x Stored) (*Object, schema.GroupVersionKind) {
	gvk := x.GetObjectKind().GroupVersionKind()
	obj := &Object{
		Kind:       cmp.Or(gvk.Kind, typedKind(x)),
		APIVersion: gvk.GroupVersion().String(),
		Namespace:  x.GetNamespace(),
		Name:       x.GetName(),
	}
	if gvk.Version == "" && typedKind(x) != "" {
		obj.APIVersion = v1alpha1.GroupVersion.String()
	}
	return obj, gvk
}

// TypedObject converts a typed object; an empty TypeMeta (as typed objects
// read through a client often have) is filled in for our kinds.
func TypedObject(x Stored) (*Object, error) {
	obj, gvk := typedObjectMeta(x)
	v, err := JSONValue(x)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", obj.Kind, obj.Name, err)
	}
	if o, ok := v.(ast.Object); ok && typedKind(x) != "" {
		if gvk.Kind == "" {
			o.Insert(KeyKind, ast.StringTerm(obj.Kind))
		}
		if gvk.Version == "" {
			o.Insert(KeyAPIVersion, ast.StringTerm(obj.APIVersion))
		}
	}
	obj.Value = v
	return obj, nil
}

// PointerTo returns a pointer to our typed objects (v1alpha1.PointerTo)
// and unstructured ones passed by value, and x itself otherwise.
func PointerTo(x any) any {
	if u, ok := x.(unstructured.Unstructured); ok {
		return &u
	}
	if p, ok := v1alpha1.PointerTo(x); ok {
		return p
	}
	return x
}

// IsNilPointer reports a nil pointer to one of our typed objects.
func IsNilPointer(o runtime.Object) bool {
	_, ours := v1alpha1.KindOf(o)
	return ours && reflect.ValueOf(o).IsNil()
}
