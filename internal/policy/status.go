package policy

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// MaxViolationText bounds each text of a violation kept on a status or in a
// report (message, remediation, field): a custom policy's message is as long
// as its author makes it, and an object holds at most 1.5 MB in etcd.
const MaxViolationText = 1024

// StatusViolations is the decision as an object's status keeps it, the one
// rule for the reconcilers and the audit: at most v1alpha1.MaxStatusViolations
// results, in force first (deny, error, warn, audit) then waived ones, each
// text bounded by MaxViolationText, and the count of all results.
func (d *Decision) StatusViolations() ([]v1alpha1.Violation, int32) {
	if d == nil {
		return nil, 0
	}
	var out []v1alpha1.Violation
	add := func(rs []Result) {
		for i := range rs {
			if len(out) >= v1alpha1.MaxStatusViolations {
				return
			}
			v := rs[i].Violation()
			v.Message = Bound(v.Message, MaxViolationText)
			v.Remediation = Bound(v.Remediation, MaxViolationText)
			v.Field = Bound(v.Field, MaxViolationText)
			out = append(out, v)
		}
	}
	add(d.Denies())
	add(d.Errors())
	add(d.Warnings())
	add(d.Audits())
	add(d.Waived())
	return out, int32(min(len(d.Results), math.MaxInt32))
}

// Bound cuts s to at most n bytes (on a rune boundary), ending with how
// much was cut.
func Bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	suffix := fmt.Sprintf("… (%d more bytes)", len(s)-n)
	cut := n - len(suffix)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + suffix
}
