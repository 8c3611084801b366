package policy

import (
	"errors"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// CompileError is one problem with a policy: a Rego syntax or compile error
// with its position, or an invalid field of a GuardrailPolicy's spec (then
// Module names the field, such as "spec.targets[0]", and Line is 0).
type CompileError struct {
	Policy  string // the policy's name
	Module  string // "rego" or "libs[i]" for a GuardrailPolicy, the file name for a built-in
	Line    int    // 1-based, 0 when unknown
	Column  int    // 1-based, 0 when unknown
	Message string
}

// Error formats the error as "policy/module:line:col: message", leaving out
// the parts that are unknown.
func (e CompileError) Error() string { return gatekeeper.Error(e).Error() }

// PolicyError converts the error for a GuardrailPolicy's status.
func (e CompileError) PolicyError() v1alpha1.PolicyError {
	return v1alpha1.PolicyError{
		Module:  e.Module,
		Line:    int32(e.Line),   //nolint:gosec // Rego sources are capped at 64 KiB
		Column:  int32(e.Column), //nolint:gosec // Rego sources are capped at 64 KiB
		Message: e.Message,
	}
}

// compileErrors joins errs into one error (nil when there are none).
func compileErrors(errs []CompileError) error {
	if len(errs) == 0 {
		return nil
	}
	joined := make([]error, len(errs))
	for i := range errs {
		joined[i] = errs[i]
	}
	return errors.Join(joined...)
}

// compileErrorAt builds a CompileError from an OPA location.
func compileErrorAt(policy string, loc *ast.Location, msg string) CompileError {
	e := CompileError{Policy: policy, Message: msg}
	if loc != nil {
		e.Module, e.Line, e.Column = loc.File, loc.Row, loc.Col
	}
	return e
}

// fromOPA converts the errors OPA's parser or compiler returned. Messages
// about refused built-ins gain refusedSuffix; those already reported by
// refusedCalls (same place, same message) are dropped.
func fromOPA(policy string, err error, denied map[string]bool, seen []CompileError) []CompileError {
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) {
		var one *ast.Error
		if errors.As(err, &one) {
			astErrs = ast.Errors{one}
		} else {
			return []CompileError{{Policy: policy, Message: err.Error()}}
		}
	}
	out := make([]CompileError, 0, len(astErrs))
	for _, ae := range astErrs {
		msg := ae.Message
		if name, ok := strings.CutPrefix(msg, "undefined function "); ok && denied[name] {
			msg += refusedSuffix
		}
		ce := compileErrorAt(policy, ae.Location, msg)
		if containsError(seen, ce) || containsError(out, ce) {
			continue
		}
		out = append(out, ce)
	}
	return out
}

func containsError(errs []CompileError, e CompileError) bool {
	for _, x := range errs {
		if x.Module == e.Module && x.Line == e.Line && x.Message == e.Message {
			return true
		}
	}
	return false
}
