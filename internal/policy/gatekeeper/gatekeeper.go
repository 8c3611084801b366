package gatekeeper

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Gatekeeper's API groups: ConstraintTemplates are templates.gatekeeper.sh/v1,
// each template defines one constraint kind in constraints.gatekeeper.sh.
const (
	TemplateGroup   = "templates.gatekeeper.sh"
	ConstraintGroup = "constraints.gatekeeper.sh"
	// target is the one target Gatekeeper's templates name.
	target = "admission.k8s.gatekeeper.sh"
	// Category is the category of a constraint's results.
	Category = "gatekeeper"
)

// TemplateGVK is the kind of a Gatekeeper ConstraintTemplate.
var TemplateGVK = schema.GroupVersionKind{Group: TemplateGroup, Version: "v1", Kind: "ConstraintTemplate"}

// IsTemplate reports whether gvk is a ConstraintTemplate (any version).
func IsTemplate(gvk schema.GroupVersionKind) bool {
	return gvk.Group == TemplateGroup && gvk.Kind == TemplateGVK.Kind
}

// IsConstraint reports whether gvk is a constraint (any kind of
// constraints.gatekeeper.sh).
func IsConstraint(gvk schema.GroupVersionKind) bool {
	return gvk.Group == ConstraintGroup && gvk.Kind != ""
}

// Key names a template or a constraint in reports: "<Kind>/<name>", so
// "ConstraintTemplate/<name>" for a template.
func Key(kind, name string) string { return kind + "/" + name }

// TemplateKey is Key of the ConstraintTemplate name.
func TemplateKey(name string) string { return Key(TemplateGVK.Kind, name) }

// Error is one problem with a template or a constraint: a Rego syntax or
// compile error with its position, or an invalid field (then Module names
// the field, such as "spec.match.scope", and Line is 0). Its fields are
// those of the engine's CompileError, which it converts to.
type Error struct {
	Policy  string // the object's key (Key)
	Module  string // "rego" or "libs[i]" for a template's Rego, else the field
	Line    int    // 1-based, 0 when unknown
	Column  int    // 1-based, 0 when unknown
	Message string
}

// Error formats the error as "policy/module:line:col: message", leaving out
// the parts that are unknown.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Policy)
	if e.Module != "" {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(e.Module)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// errorAt builds an Error from an OPA location.
func errorAt(key string, loc *ast.Location, msg string) Error {
	e := Error{Policy: key, Message: msg}
	if loc != nil {
		e.Module, e.Line, e.Column = loc.File, loc.Row, loc.Col
	}
	return e
}

func sortErrors(errs []Error) { slices.SortStableFunc(errs, CompareErrors) }

// CompareErrors orders errors by module, then line, then column.
func CompareErrors(a, b Error) int {
	if c := strings.Compare(a.Module, b.Module); c != 0 {
		return c
	}
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Column - b.Column
}

// Rego is the engine's Rego compiler, which templates borrow so that their
// Rego is held to the same capabilities, refused built-ins and reserved
// packages as every other policy. Package policy provides it.
type Rego interface {
	// Parse parses one module of the template key (file names it in
	// errors) in the Rego version v, with METADATA annotations.
	Parse(key, file, src string, v ast.RegoVersion) (*ast.Module, []Error)
	// Reserved reports whether a template's module may not use the package
	// path (the built-ins' and the taxonomy's).
	Reserved(path ast.Ref) bool
	// Prepare compiles the modules of the template key together and
	// prepares query against them.
	Prepare(key string, modules map[string]*ast.Module, query ast.Body) (rego.PreparedEvalQuery, []Error)
}

// ViolationRule is the rule every policy and template defines: the set of
// its violations.
const ViolationRule = "violation"

const violationRule = ViolationRule

var violationVar = ast.Var(violationRule)

// DefinesViolation reports whether m has a rule named violation.
func DefinesViolation(m *ast.Module) bool {
	for _, r := range m.Rules {
		if ref := r.Head.Ref(); len(ref) > 0 && ref[0].Value.Compare(violationVar) == 0 {
			return true
		}
	}
	return false
}

// ViolationQuery returns the body `v = <pkg>.violation`.
func ViolationQuery(v string, pkg ast.Ref) *ast.Expr {
	return ast.Equality.Expr(ast.VarTerm(v), ast.NewTerm(pkg.Append(ast.StringTerm(violationRule))))
}

// ModuleName is the name a template's module has in errors: "rego" for
// the main one, "libs[i]" for a library.
func ModuleName(i int) string {
	if i == 0 {
		return "rego"
	}
	return fmt.Sprintf("libs[%d]", i-1)
}
