package controllers

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// setReady records a kstatus-style outcome: Ready with reason and message,
// Reconciling false, and Stalled true only when the object cannot progress
// without a change by a person (a policy denies it, a policy does not compile).
func setReady(conds *[]metav1.Condition, gen int64, ready bool, reason, msg string, stalled bool) {
	status := func(b bool) metav1.ConditionStatus {
		if b {
			return metav1.ConditionTrue
		}
		return metav1.ConditionFalse
	}
	msg = boundMessage(msg)
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReady, Status: status(ready), Reason: reason, Message: msg, ObservedGeneration: gen})
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: reason, Message: "", ObservedGeneration: gen})
	stalledReason := reason
	if !stalled {
		msg = ""
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: status(stalled), Reason: stalledReason, Message: msg, ObservedGeneration: gen})
}

// setViolations records a decision in status: the bounded list (results in
// force first: deny, error, warn, audit; then waived ones) and the count of
// all results.
func setViolations(status *v1alpha1.CommonStatus, d *policy.Decision) {
	status.Violations = violations(d)
	status.ViolationCount = 0
	if d != nil {
		status.ViolationCount = int32(min(len(d.Results), math.MaxInt32))
	}
}

// violations turns a decision into the bounded list kept on status.
func violations(d *policy.Decision) []v1alpha1.Violation {
	if d == nil {
		return nil
	}
	var out []v1alpha1.Violation
	add := func(rs []policy.Result) {
		for i := range rs {
			if len(out) >= v1alpha1.MaxStatusViolations {
				return
			}
			v := rs[i].Violation()
			v.Message = bound(v.Message, maxViolationText)
			v.Remediation = bound(v.Remediation, maxViolationText)
			v.Field = bound(v.Field, maxViolationText)
			out = append(out, v)
		}
	}
	add(d.Denies())
	add(d.Errors())
	add(d.Warnings())
	add(d.Audits())
	add(d.Waived())
	return out
}

func boolPtr(b bool) *bool { return &b }

// Bounds on what policies put in a status: a condition message may hold
// 32 KiB and a whole object 1.5 MB in etcd, and a custom policy's message
// is as long as its author makes it. Cut text ends with how much was cut.
const (
	maxConditionMessage = 1024
	maxViolationText    = 1024
	maxEventMessage     = 1024
)

// boundMessage bounds a condition message.
func boundMessage(s string) string { return bound(s, maxConditionMessage) }

// bound cuts s to at most n bytes (on a rune boundary), saying so.
func bound(s string, n int) string {
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

// summary is a condition message naming the deny results, whole entries
// while they fit in maxConditionMessage, then "… and N more".
func summary(d *policy.Decision) string {
	if d == nil {
		return ""
	}
	denies := d.Denies()
	var b strings.Builder
	for i, res := range denies {
		entry := bound(res.Policy+": "+res.Message, maxConditionMessage/2)
		more := fmt.Sprintf("; … and %d more", len(denies)-i)
		if i > 0 && b.Len()+2+len(entry)+len(more) > maxConditionMessage {
			b.WriteString(more)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(entry)
	}
	return b.String()
}

// eventMessage bounds an event's message.
func eventMessage(s string) string { return bound(s, maxEventMessage) }
