package policy

import (
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// EnforcementError is the enforcement of a result that says a policy could
// not be evaluated (a runtime error, or the time budget ran out).
const EnforcementError = "error"

// Decision is the verdict of every policy targeting one object.
type Decision struct {
	Kind      string
	Namespace string // empty for cluster-scoped kinds
	Name      string
	Results   []Result // by policy name; waived results included
	// Policies are the policies that judged the object (built-in, the
	// engine's own checks and custom ones whose namespaceSelector matched),
	// by name; Disabled those targeting its kind that the PlatformStandard
	// in force disables.
	Policies []string
	Disabled []string
}

// Result is one violation found by one policy, or one policy that failed.
type Result struct {
	Policy      string
	Title       string
	Enforcement string // deny, warn, audit or error
	Severity    string
	Category    string
	Message     string
	Field       string // dotted path of the offending field, e.g. spec.image; may be empty
	Remediation string
	// Exception is the PolicyException that waives this result, if any. A
	// waived result is kept for reports but neither denies nor warns.
	Exception *ExceptionRef
}

// ExceptionRef names the PolicyException waiving a result.
type ExceptionRef struct {
	Namespace string
	Name      string
	ExpiresAt time.Time
}

// String returns "namespace/name".
func (r *ExceptionRef) String() string { return r.Namespace + "/" + r.Name }

// Waived reports whether an exception waives r.
func (r *Result) Waived() bool { return r.Exception != nil }

// Violation converts r for an object's status.
func (r *Result) Violation() v1alpha1.Violation {
	v := v1alpha1.Violation{
		Policy:      r.Policy,
		Enforcement: r.Enforcement,
		Severity:    v1alpha1.Severity(r.Severity),
		Field:       r.Field,
		Message:     r.Message,
		Remediation: r.Remediation,
	}
	if r.Exception != nil {
		v.Exception = r.Exception.String()
	}
	return v
}

// Denied reports whether a deny result is not waived.
func (d *Decision) Denied() bool {
	for i := range d.Results {
		if d.Results[i].Enforcement == string(v1alpha1.EnforcementDeny) && !d.Results[i].Waived() {
			return true
		}
	}
	return false
}

// Denies returns the deny results not waived.
func (d *Decision) Denies() []Result { return d.unwaived(string(v1alpha1.EnforcementDeny)) }

// Warnings returns the warn results not waived.
func (d *Decision) Warnings() []Result { return d.unwaived(string(v1alpha1.EnforcementWarn)) }

// Audits returns the audit results not waived.
func (d *Decision) Audits() []Result { return d.unwaived(string(v1alpha1.EnforcementAudit)) }

// Errors returns the policies that failed to evaluate (not waived).
func (d *Decision) Errors() []Result { return d.unwaived(EnforcementError) }

// Waived returns the results an exception waives.
func (d *Decision) Waived() []Result {
	var out []Result
	for _, r := range d.Results {
		if r.Waived() {
			out = append(out, r)
		}
	}
	return out
}

func (d *Decision) unwaived(enforcement string) []Result {
	var out []Result
	for _, r := range d.Results {
		if r.Enforcement == enforcement && !r.Waived() {
			out = append(out, r)
		}
	}
	return out
}
