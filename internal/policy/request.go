package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
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
	// once by gatekeeper.NewInventory for every request that shares them. Nil: none.
	Inventory *gatekeeper.Inventory
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

// newShared builds the part of the input document that is the same for
// every object of req: the workload and the integrations it references.
func newShared(req *Request, set *policySet, now time.Time, cache *input.Cache) (*input.Shared, error) {
	// Every time comparison of the policies is against input.now: outside
	// the supported range all of them would go undefined.
	if err := CheckTime("now", now); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	s := &input.Shared{
		Policies: set.names,
		// Whole seconds: policies compare days and timestamps, and equal
		// inputs within a second let the result caches answer.
		Now:             ast.StringTerm(now.UTC().Truncate(time.Second).Format(time.RFC3339)),
		User:            input.EmptyObject(),
		Standard:        input.EmptyObject(),
		NamespaceLabels: input.StringMap(req.Namespace.Labels),
	}
	if u := req.User; u != nil {
		groups := make([]*ast.Term, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = ast.StringTerm(g)
		}
		s.User = ast.ObjectTerm(
			ast.Item(input.KeyUsername, ast.StringTerm(u.Username)),
			ast.Item(input.KeyGroups, ast.ArrayTerm(groups...)),
		)
	}
	if req.Standard != nil {
		v, err := cache.StandardSpec(req.Standard)
		if err != nil {
			return nil, err
		}
		s.Standard = ast.NewTerm(v)
	}
	cat := req.Catalogue
	if cat == nil {
		var err error
		if cat, err = newCatalogue(req.Vendors, cache); err != nil {
			return nil, err
		}
	}
	s.Vendors = cat.term
	if req.Secrets != nil {
		secrets := make([][2]*ast.Term, 0, len(req.Secrets))
		for name, si := range req.Secrets {
			pairs := [][2]*ast.Term{ast.Item(input.KeyExists, ast.BooleanTerm(si.Exists))}
			if !si.CreatedAt.IsZero() {
				pairs = append(pairs, ast.Item(input.KeyCreatedAt, ast.StringTerm(si.CreatedAt.UTC().Format(time.RFC3339))))
			}
			if !si.RotatedAt.IsZero() {
				pairs = append(pairs, ast.Item(input.KeyRotatedAt, ast.StringTerm(si.RotatedAt.UTC().Format(time.RFC3339))))
			}
			secrets = append(secrets, ast.Item(ast.StringTerm(name), ast.ObjectTerm(pairs...)))
		}
		s.Secrets = ast.ObjectTerm(secrets...)
	}
	return s, nil
}
