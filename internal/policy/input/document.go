package input

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Keys of the input document and of Gatekeeper's input.review, interned.
var (
	KeyKind         = ast.InternedTerm("kind")
	KeyAPIVersion   = ast.InternedTerm("apiVersion")
	KeyOperation    = ast.InternedTerm("operation")
	KeyObject       = ast.InternedTerm("object")
	KeyOldObject    = ast.InternedTerm("oldObject")
	KeyNamespace    = ast.InternedTerm("namespace")
	KeyUser         = ast.InternedTerm("user")
	KeyStandard     = ast.InternedTerm("standard")
	KeyVendors      = ast.InternedTerm("vendors")
	KeyIntegrations = ast.InternedTerm("integrations")
	KeySecrets      = ast.InternedTerm("secrets")
	KeyPolicies     = ast.InternedTerm("policies")
	KeyParameters   = ast.InternedTerm("parameters")
	KeyNow          = ast.InternedTerm("now")
	KeyReview       = ast.InternedTerm("review")
	KeyName         = ast.InternedTerm("name")
	KeyLabels       = ast.InternedTerm("labels")
	KeyUsername     = ast.InternedTerm("username")
	KeyGroups       = ast.InternedTerm("groups")
	KeyUserInfo     = ast.InternedTerm("userInfo")
	KeyGroup        = ast.InternedTerm("group")
	KeyVersion      = ast.InternedTerm("version")
	KeyExists       = ast.InternedTerm("exists")
	KeyCreatedAt    = ast.InternedTerm("createdAt")
	KeyRotatedAt    = ast.InternedTerm("rotatedAt")
)

// EmptyObject returns a new term holding {}.
func EmptyObject() *ast.Term { return ast.ObjectTerm() }

// StringMap converts a string map (labels, say) to an object term.
func StringMap(m map[string]string) *ast.Term {
	pairs := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
	}
	return ast.ObjectTerm(pairs...)
}

// With returns a copy of obj with one more key (obj is not modified).
func With(obj ast.Object, key string, value *ast.Term) ast.Object {
	pairs := make([][2]*ast.Term, 0, obj.Len()+1)
	obj.Foreach(func(k, v *ast.Term) {
		if !k.Equal(ast.InternedTerm(key)) {
			pairs = append(pairs, [2]*ast.Term{k, v})
		}
	})
	pairs = append(pairs, ast.Item(ast.InternedTerm(key), value))
	return ast.NewObject(pairs...)
}

// Namespaced reports whether objects of kind live in a namespace: the
// namespaced kinds of our API and the kinds of rendered children.
func Namespaced(kind string) bool {
	ns, _ := v1alpha1.Namespaced(kind)
	return ns || slices.Contains(v1alpha1.ChildKinds, kind)
}

// Shared is the part of the input document that is the same for every
// object of one request: the workload and the integrations it references.
// Every term but Secrets is required.
type Shared struct {
	User            *ast.Term // input.user, {} when unknown
	Standard        *ast.Term // input.standard, the standard's spec or {}
	Vendors         *ast.Term // input.vendors
	Secrets         *ast.Term // input.secrets; nil: unknown, left out
	Policies        *ast.Term // input.policies
	Now             *ast.Term // input.now
	NamespaceLabels *ast.Term // input.namespace.labels
}

// Document is the input document of one object, less input.parameters.
type Document struct {
	pairs  [][2]*ast.Term // every key but parameters
	params int            // index of parameters in pairs
}

// NewDocument builds the input document of subject (obj, or old on
// DELETE) for the operation op, in namespace, with input.integrations.
func NewDocument(s *Shared, op string, obj, old, subject *Object, namespace string, integrations *ast.Term) *Document {
	objTerm, oldTerm := ast.NullTerm(), ast.NullTerm()
	if obj != nil {
		objTerm = ast.NewTerm(obj.Value)
	}
	if old != nil {
		oldTerm = ast.NewTerm(old.Value)
	}
	nsTerm := EmptyObject()
	if Namespaced(subject.Kind) {
		nsTerm = ast.ObjectTerm(ast.Item(KeyName, ast.StringTerm(namespace)), ast.Item(KeyLabels, s.NamespaceLabels))
	}
	group, version, found := strings.Cut(subject.APIVersion, "/")
	if !found {
		group, version = "", subject.APIVersion
	}
	opTerm := ast.StringTerm(op)
	review := ast.ObjectTerm(
		ast.Item(KeyObject, objTerm),
		ast.Item(KeyOldObject, oldTerm),
		ast.Item(KeyOperation, opTerm),
		ast.Item(KeyUserInfo, s.User),
		ast.Item(KeyKind, ast.ObjectTerm(
			ast.Item(KeyGroup, ast.StringTerm(group)),
			ast.Item(KeyVersion, ast.StringTerm(version)),
			ast.Item(KeyKind, ast.StringTerm(subject.Kind)),
		)),
		ast.Item(KeyNamespace, ast.StringTerm(namespace)),
		ast.Item(KeyName, ast.StringTerm(subject.Name)),
	)
	in := &Document{pairs: make([][2]*ast.Term, 0, 14)}
	in.pairs = append(in.pairs,
		ast.Item(KeyKind, ast.StringTerm(subject.Kind)),
		ast.Item(KeyOperation, opTerm),
		ast.Item(KeyObject, objTerm),
		ast.Item(KeyOldObject, oldTerm),
		ast.Item(KeyNamespace, nsTerm),
		ast.Item(KeyUser, s.User),
		ast.Item(KeyStandard, s.Standard),
		ast.Item(KeyVendors, s.Vendors),
		ast.Item(KeyIntegrations, integrations),
		ast.Item(KeyPolicies, s.Policies),
		ast.Item(KeyNow, s.Now),
		ast.Item(KeyReview, review),
	)
	if s.Secrets != nil {
		in.pairs = append(in.pairs, ast.Item(KeySecrets, s.Secrets))
	}
	in.params = len(in.pairs)
	in.pairs = append(in.pairs, ast.Item(KeyParameters, nil))
	return in
}

// Add sets one more key of the input document (before input.parameters).
func (in *Document) Add(key, value *ast.Term) {
	in.pairs = slices.Insert(in.pairs, in.params, ast.Item(key, value))
	in.params++
}

// Value returns the input document with the given input.parameters.
func (in *Document) Value(params *ast.Term) ast.Value {
	pairs := slices.Clone(in.pairs)
	pairs[in.params][1] = params
	return ast.NewObject(pairs...)
}
