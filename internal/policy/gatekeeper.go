package policy

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Gatekeeper's API groups: ConstraintTemplates are templates.gatekeeper.sh/v1,
// each template defines one constraint kind in constraints.gatekeeper.sh.
const (
	GatekeeperTemplateGroup   = "templates.gatekeeper.sh"
	GatekeeperConstraintGroup = "constraints.gatekeeper.sh"
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
	Operation         Operation // CREATE when empty
	// Namespace of the object: its labels are matched by namespaceSelector
	// and given as input.review.namespaceObject.
	Namespace Namespace
	User      *User
	// Inventory is data.inventory.
	Inventory []*unstructured.Unstructured
	Now       time.Time
}

var errNotYet = errors.New("policy: Gatekeeper support is being built")

// SetGatekeeper replaces the Gatekeeper templates and constraints in force.
// Readers see the old set or the new one, never a mix; the GuardrailPolicies
// in force are kept.
func (e *Engine) SetGatekeeper(templates, constraints []*unstructured.Unstructured) GatekeeperReport {
	return GatekeeperReport{Errors: map[string][]CompileError{"ConstraintTemplate/*": {{Message: errNotYet.Error()}}}}
}

// Review judges req.Object with every constraint in force that matches it.
// The decision's results are named after the constraints.
func (e *Engine) Review(ctx context.Context, req ReviewRequest) (*Decision, error) {
	return nil, errNotYet
}
