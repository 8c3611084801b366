package webhook

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// Messages users see. Tests assert on them; keep them stable.
const (
	msgNotEvaluated       = "could not be evaluated: %s"
	msgWaived             = "waived by %s until %s"
	msgPoliciesNotSynced  = "the webhook has not loaded the GuardrailPolicies yet; retry in a few seconds"
	errResolving          = "reading what %s %q is judged against: %w"
	errEvaluating         = "evaluating policies for %s %q: %w"
	errDecodingGuardedObj = "decoding the %s in the admission request: %w"
)

// line formats one result as `policy: field: message (remediation)`,
// leaving out the field and remediation when empty. It is always one line:
// admission warnings travel in HTTP headers.
func line(source, field, msg, remediation string) string {
	var b strings.Builder
	b.WriteString(source)
	if field != "" {
		b.WriteString(": ")
		b.WriteString(field)
	}
	b.WriteString(": ")
	b.WriteString(oneLine(msg))
	if remediation != "" {
		b.WriteString(" (")
		b.WriteString(oneLine(remediation))
		b.WriteString(")")
	}
	return b.String()
}

// resultLine formats a policy result.
func resultLine(r policy.Result) string {
	if r.Enforcement == policy.EnforcementError {
		return line(r.Policy, r.Field, fmt.Sprintf(msgNotEvaluated, r.Message), r.Remediation)
	}
	return line(r.Policy, r.Field, r.Message, r.Remediation)
}

// waivedLine formats a result an exception waives: the remediation gives
// way to the exception and its expiry.
func waivedLine(r policy.Result) string {
	return line(r.Policy, r.Field, r.Message, fmt.Sprintf(msgWaived, r.Exception.String(), r.Exception.ExpiresAt.UTC().Format(timeFormat)))
}

// resultViolation is a deny result as a reason to reject.
func resultViolation(r policy.Result) violation {
	return violation{line: resultLine(r), field: r.Field, cause: line(r.Policy, "", r.Message, r.Remediation)}
}

// compileErrorViolation is a GuardrailPolicy compile error as a reason to
// reject: the line reads `policy: spec.rego:line:col: message`, the cause
// (which kubectl prints after the field) `line:col: message`.
func compileErrorViolation(e policy.CompileError) violation {
	field := compileErrorField(e)
	pos := ""
	if e.Line > 0 {
		pos = fmt.Sprintf("%d", e.Line)
		if e.Column > 0 {
			pos += fmt.Sprintf(":%d", e.Column)
		}
	}
	if pos == "" {
		return violation{line: line(e.Policy, field, e.Message, ""), field: field, cause: oneLine(e.Message)}
	}
	return violation{line: line(e.Policy, field+":"+pos, e.Message, ""), field: field, cause: pos + ": " + oneLine(e.Message)}
}

// compileErrorField is the spec field a compile error is in: spec.rego,
// spec.libs[i], or the spec field the engine names.
func compileErrorField(e policy.CompileError) string {
	if e.Module == "rego" || strings.HasPrefix(e.Module, "libs[") {
		return "spec." + e.Module
	}
	return e.Module
}

const timeFormat = "2006-01-02T15:04:05Z07:00"

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// violation is one reason to reject: the line of the message, and the field
// and cause (the line without the field) of the status details. kubectl
// prints the message of a Forbidden status, and `field: cause` for each
// cause of an Invalid one.
type violation struct {
	line  string
	field string
	cause string
}

// rejection builds the error a validator returns: a Forbidden status (a
// policy said no) or an Invalid one (the object is malformed: unknown
// taxonomy keys, Rego that does not compile), with one line per violation as
// the message and one cause per violation in the details.
func rejection(reason metav1.StatusReason, gk schema.GroupKind, name string, vs []violation) *apierrors.StatusError {
	lines := make([]string, len(vs))
	causes := make([]metav1.StatusCause, len(vs))
	causeType := metav1.CauseTypeForbidden
	code := int32(http.StatusForbidden)
	if reason == metav1.StatusReasonInvalid {
		causeType = metav1.CauseTypeFieldValueInvalid
		code = http.StatusUnprocessableEntity
	}
	for i, v := range vs {
		lines[i] = v.line
		causes[i] = metav1.StatusCause{Type: causeType, Field: v.field, Message: v.cause}
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    code,
		Reason:  reason,
		Message: strings.Join(lines, "\n"),
		Details: &metav1.StatusDetails{Group: gk.Group, Kind: gk.Kind, Name: name, Causes: causes},
	}}
}

// groupKind is one of our kinds, for status details.
func groupKind(kind string) schema.GroupKind {
	return schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: kind}
}
