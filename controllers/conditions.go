package controllers

import (
	"fmt"
	"strings"

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

// setViolations records a decision in status (policy.StatusViolations:
// the bounded list and the count of all results).
func setViolations(status *v1alpha1.CommonStatus, d *policy.Decision) {
	status.Violations, status.ViolationCount = d.StatusViolations()
}

func boolPtr(b bool) *bool { return &b }

// Bounds on what policies put in a status: a condition message may hold
// 32 KiB and a whole object 1.5 MB in etcd, and a custom policy's message
// is as long as its author makes it. Cut text ends with how much was cut.
const (
	maxConditionMessage = 1024
	maxViolationText    = policy.MaxViolationText
	maxEventMessage     = 1024
)

// boundMessage bounds a condition message.
func boundMessage(s string) string { return bound(s, maxConditionMessage) }

// bound cuts s to at most n bytes (on a rune boundary), saying so.
func bound(s string, n int) string { return policy.Bound(s, n) }

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
