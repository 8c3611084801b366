package policy

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Operation is why an object is evaluated; it is input.operation.
type Operation string

// The operations. Admission uses CREATE, UPDATE and DELETE, the reconcilers
// and the background audit AUDIT, and the CLI CHECK.
const (
	OperationCreate Operation = "CREATE"
	OperationUpdate Operation = "UPDATE"
	OperationDelete Operation = "DELETE"
	OperationAudit  Operation = "AUDIT"
	OperationCheck  Operation = "CHECK"
)

// Namespace is the namespace of the object evaluated.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// User is the requester of an admission request.
type User struct {
	Username string
	Groups   []string
}

// SecretInfo is what policies may know of a Secret: never its data.
type SecretInfo struct {
	Exists    bool
	CreatedAt time.Time // zero when unknown
	RotatedAt time.Time // zero when unknown or never rotated
}

// Request is one object to evaluate and the context it is evaluated in.
type Request struct {
	Operation Operation // AUDIT when empty
	// Object is the object evaluated; OldObject the stored one on UPDATE and
	// DELETE. Each is a typed object of api/v1alpha1 (*v1alpha1.SaaSIntegration
	// ...), an *unstructured.Unstructured or a map[string]any. On DELETE,
	// Object may be nil: OldObject is evaluated.
	Object, OldObject any
	// Namespace is the object's namespace; ignored for cluster-scoped kinds.
	// When Name is empty the object's metadata.namespace is used.
	Namespace Namespace
	User      *User                      // admission only
	Standard  *v1alpha1.PlatformStandard // the standard in force, if any
	// Vendors is the catalogue by name. Catalogue, when set, is the same
	// catalogue converted once (NewCatalogue(Vendors)) and shared by the
	// requests that see it: input.vendors is then read from it rather
	// than converted from Vendors on every Evaluate. A door that sets it
	// sets Vendors to Catalogue.Vendors().
	Vendors   map[string]*v1alpha1.Vendor
	Catalogue *Catalogue
	// Integrations are the SaaSIntegrations of the object's namespace that a
	// MarketingWorkload references, by name; they are evaluated too, and
	// their verdicts handed to the workload's policies.
	Integrations map[string]*v1alpha1.SaaSIntegration
	// Secrets are the Secrets SaaSIntegrations reference, by name; nil when
	// unknown (offline), which leaves input.secrets out.
	Secrets map[string]SecretInfo
	// Owner is, for a Deployment, Service or Ingress, the MarketingWorkload
	// its controller reference names, when that exists (unmanaged-workload).
	Owner *v1alpha1.MarketingWorkload
	// Inventory is what Gatekeeper templates read as data.inventory, beside
	// the workload's own rendered children (which the engine adds): the
	// Kubernetes objects the door knows of (the CLI's input files), converted
	// once by NewInventory for every request that shares them. Nil: none.
	Inventory *Inventory
	// Usage is how the cluster's SaaSIntegrations use the catalogue
	// (portfolio.go): input.portfolio of Vendors and SaaSIntegrations.
	// Nil: unknown, and the facts that need it are left out.
	Usage      *Usage
	Exceptions []v1alpha1.PolicyException // of every namespace; expired ones do nothing
	Now        time.Time                  // time.Now() when zero
	// Memo, when set, shares decisions on SaaSIntegrations with the other
	// requests of a batch that see the same inputs (see Memo).
	Memo *Memo
}

// ErrNoObject is returned by Evaluate for a request without an object.
var ErrNoObject = errors.New("policy: request has no object")

// object is an object of a request in Go and in AST form.
type object struct {
	kind, apiVersion, namespace, name string
	value                             ast.Value
}

// typedKind is the kind of our typed objects (v1alpha1.KindOf), for
// objects whose TypeMeta is empty (as typed objects read through a client
// often are); "" for any other object.
func typedKind(x any) string {
	k, _ := v1alpha1.KindOf(x)
	return k.Name
}

// toObject converts x (nil, typed, unstructured or a map) for the input.
func toObject(x any) (*object, error) {
	x = pointerTo(x)
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
	case storedObject:
		if isNilPointer(o) {
			return nil, nil
		}
		// A typed object: straight from its JSON (see jsonValue).
		return typedObject(o)
	default:
		return nil, fmt.Errorf("policy: unsupported object type %T", x)
	}
	obj := &object{}
	obj.kind, _ = m["kind"].(string)
	obj.apiVersion, _ = m["apiVersion"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		obj.name, _ = md["name"].(string)
		obj.namespace, _ = md["namespace"].(string)
	}
	v, err := ast.InterfaceToValue(m)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", obj.kind, obj.name, err)
	}
	obj.value = v
	return obj, nil
}

// typedObjectMeta is a typed object's kind, apiVersion, namespace and name.
func typedObjectMeta(x storedObject) (*object, schema.GroupVersionKind) {
	gvk := x.GetObjectKind().GroupVersionKind()
	obj := &object{
		kind:       cmp.Or(gvk.Kind, typedKind(x)),
		apiVersion: gvk.GroupVersion().String(),
		namespace:  x.GetNamespace(),
		name:       x.GetName(),
	}
	if gvk.Version == "" && typedKind(x) != "" {
		obj.apiVersion = v1alpha1.GroupVersion.String()
	}
	return obj, gvk
}

// typedObject converts a typed object; an empty TypeMeta (as typed objects
// read through a client often have) is filled in for our kinds.
func typedObject(x storedObject) (*object, error) {
	obj, gvk := typedObjectMeta(x)
	v, err := jsonValue(x)
	if err != nil {
		return nil, fmt.Errorf("policy: converting %s %q: %w", obj.kind, obj.name, err)
	}
	if o, ok := v.(ast.Object); ok && typedKind(x) != "" {
		if gvk.Kind == "" {
			o.Insert(keyKind, ast.StringTerm(obj.kind))
		}
		if gvk.Version == "" {
			o.Insert(keyAPIVersion, ast.StringTerm(obj.apiVersion))
		}
	}
	obj.value = v
	return obj, nil
}

// pointerTo returns a pointer to our typed objects (v1alpha1.PointerTo)
// and unstructured ones passed by value, and x itself otherwise.
func pointerTo(x any) any {
	if u, ok := x.(unstructured.Unstructured); ok {
		return &u
	}
	if p, ok := v1alpha1.PointerTo(x); ok {
		return p
	}
	return x
}

// isNilPointer reports a nil pointer to one of our typed objects.
func isNilPointer(o runtime.Object) bool {
	_, ours := v1alpha1.KindOf(o)
	return ours && reflect.ValueOf(o).IsNil()
}

// with returns a copy of obj with one more key (obj is not modified).
func with(obj ast.Object, key string, value *ast.Term) ast.Object {
	pairs := make([][2]*ast.Term, 0, obj.Len()+1)
	obj.Foreach(func(k, v *ast.Term) {
		if !k.Equal(ast.InternedTerm(key)) {
			pairs = append(pairs, [2]*ast.Term{k, v})
		}
	})
	pairs = append(pairs, ast.Item(ast.InternedTerm(key), value))
	return ast.NewObject(pairs...)
}

// Input keys.
var (
	keyKind         = ast.InternedTerm("kind")
	keyAPIVersion   = ast.InternedTerm("apiVersion")
	keyOperation    = ast.InternedTerm("operation")
	keyObject       = ast.InternedTerm("object")
	keyOldObject    = ast.InternedTerm("oldObject")
	keyNamespace    = ast.InternedTerm("namespace")
	keyUser         = ast.InternedTerm("user")
	keyStandard     = ast.InternedTerm("standard")
	keyVendors      = ast.InternedTerm("vendors")
	keyIntegrations = ast.InternedTerm("integrations")
	keySecrets      = ast.InternedTerm("secrets")
	keyPolicies     = ast.InternedTerm("policies")
	keyParameters   = ast.InternedTerm("parameters")
	keyNow          = ast.InternedTerm("now")
	keyReview       = ast.InternedTerm("review")
	keyName         = ast.InternedTerm("name")
	keyLabels       = ast.InternedTerm("labels")
	keyUsername     = ast.InternedTerm("username")
	keyGroups       = ast.InternedTerm("groups")
	keyUserInfo     = ast.InternedTerm("userInfo")
	keyGroup        = ast.InternedTerm("group")
	keyVersion      = ast.InternedTerm("version")
	keyExists       = ast.InternedTerm("exists")
	keyCreatedAt    = ast.InternedTerm("createdAt")
	keyRotatedAt    = ast.InternedTerm("rotatedAt")
	keyCompliant    = ast.InternedTerm("compliant")
	keyViolations   = ast.InternedTerm("violations")
	keyPolicy       = ast.InternedTerm("policy")
	keyMsg          = ast.InternedTerm("msg")
	keyField        = ast.InternedTerm("field")
	keyRemediation  = ast.InternedTerm("remediation")
	keyEnforcement  = ast.InternedTerm("enforcement")
)

func emptyObject() *ast.Term { return ast.ObjectTerm() }

// shared is the part of the input document that is the same for every object
// of one request: the workload and the integrations it references.
type shared struct {
	user     *ast.Term
	standard *ast.Term
	vendors  *ast.Term
	secrets  *ast.Term // nil: unknown, left out
	policies *ast.Term
	now      *ast.Term
	nsLabels *ast.Term
}

func newShared(req *Request, set *policySet, now time.Time, cache *convCache) (*shared, error) {
	// Every time comparison of the policies is against input.now: outside
	// the supported range all of them would go undefined.
	if err := CheckTime("now", now); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	s := &shared{
		policies: set.names,
		// Whole seconds: policies compare days and timestamps, and equal
		// inputs within a second let the result caches answer.
		now:      ast.StringTerm(now.UTC().Truncate(time.Second).Format(time.RFC3339)),
		user:     emptyObject(),
		standard: emptyObject(),
		nsLabels: stringMap(req.Namespace.Labels),
	}
	if u := req.User; u != nil {
		groups := make([]*ast.Term, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = ast.StringTerm(g)
		}
		s.user = ast.ObjectTerm(
			ast.Item(keyUsername, ast.StringTerm(u.Username)),
			ast.Item(keyGroups, ast.ArrayTerm(groups...)),
		)
	}
	if req.Standard != nil {
		v, err := cache.standardSpec(req.Standard)
		if err != nil {
			return nil, err
		}
		s.standard = ast.NewTerm(v)
	}
	cat := req.Catalogue
	if cat == nil {
		var err error
		if cat, err = newCatalogue(req.Vendors, cache); err != nil {
			return nil, err
		}
	}
	s.vendors = cat.term
	if req.Secrets != nil {
		secrets := make([][2]*ast.Term, 0, len(req.Secrets))
		for name, si := range req.Secrets {
			pairs := [][2]*ast.Term{ast.Item(keyExists, ast.BooleanTerm(si.Exists))}
			if !si.CreatedAt.IsZero() {
				pairs = append(pairs, ast.Item(keyCreatedAt, ast.StringTerm(si.CreatedAt.UTC().Format(time.RFC3339))))
			}
			if !si.RotatedAt.IsZero() {
				pairs = append(pairs, ast.Item(keyRotatedAt, ast.StringTerm(si.RotatedAt.UTC().Format(time.RFC3339))))
			}
			secrets = append(secrets, ast.Item(ast.StringTerm(name), ast.ObjectTerm(pairs...)))
		}
		s.secrets = ast.ObjectTerm(secrets...)
	}
	return s, nil
}

func stringMap(m map[string]string) *ast.Term {
	pairs := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, ast.Item(ast.StringTerm(k), ast.StringTerm(v)))
	}
	return ast.ObjectTerm(pairs...)
}

// input is the input document of one object, less input.parameters.
type input struct {
	pairs  [][2]*ast.Term // every key but parameters
	params int            // index of parameters in pairs
}

// newInput builds the input document of subject (obj, or old on DELETE).
func newInput(s *shared, op Operation, obj, old, subject *object, namespace string, integrations *ast.Term) *input {
	objTerm, oldTerm := ast.NullTerm(), ast.NullTerm()
	if obj != nil {
		objTerm = ast.NewTerm(obj.value)
	}
	if old != nil {
		oldTerm = ast.NewTerm(old.value)
	}
	nsTerm := emptyObject()
	if namespaced(subject.kind) {
		nsTerm = ast.ObjectTerm(ast.Item(keyName, ast.StringTerm(namespace)), ast.Item(keyLabels, s.nsLabels))
	}
	group, version, found := strings.Cut(subject.apiVersion, "/")
	if !found {
		group, version = "", subject.apiVersion
	}
	opTerm := ast.StringTerm(string(op))
	review := ast.ObjectTerm(
		ast.Item(keyObject, objTerm),
		ast.Item(keyOldObject, oldTerm),
		ast.Item(keyOperation, opTerm),
		ast.Item(keyUserInfo, s.user),
		ast.Item(keyKind, ast.ObjectTerm(
			ast.Item(keyGroup, ast.StringTerm(group)),
			ast.Item(keyVersion, ast.StringTerm(version)),
			ast.Item(keyKind, ast.StringTerm(subject.kind)),
		)),
		ast.Item(keyNamespace, ast.StringTerm(namespace)),
		ast.Item(keyName, ast.StringTerm(subject.name)),
	)
	in := &input{pairs: make([][2]*ast.Term, 0, 14)}
	in.pairs = append(in.pairs,
		ast.Item(keyKind, ast.StringTerm(subject.kind)),
		ast.Item(keyOperation, opTerm),
		ast.Item(keyObject, objTerm),
		ast.Item(keyOldObject, oldTerm),
		ast.Item(keyNamespace, nsTerm),
		ast.Item(keyUser, s.user),
		ast.Item(keyStandard, s.standard),
		ast.Item(keyVendors, s.vendors),
		ast.Item(keyIntegrations, integrations),
		ast.Item(keyPolicies, s.policies),
		ast.Item(keyNow, s.now),
		ast.Item(keyReview, review),
	)
	if s.secrets != nil {
		in.pairs = append(in.pairs, ast.Item(keySecrets, s.secrets))
	}
	in.params = len(in.pairs)
	in.pairs = append(in.pairs, ast.Item(keyParameters, nil))
	return in
}

// add sets one more key of the input document (before input.parameters).
func (in *input) add(key, value *ast.Term) {
	in.pairs = slices.Insert(in.pairs, in.params, ast.Item(key, value))
	in.params++
}

// value returns the input document with the given input.parameters.
func (in *input) value(params *ast.Term) ast.Value {
	pairs := slices.Clone(in.pairs)
	pairs[in.params][1] = params
	return ast.NewObject(pairs...)
}
