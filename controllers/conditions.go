package controllers

import (
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
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReady, Status: status(ready), Reason: reason, Message: msg, ObservedGeneration: gen})
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: reason, Message: "", ObservedGeneration: gen})
	stalledReason := reason
	if !stalled {
		msg = ""
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: status(stalled), Reason: stalledReason, Message: msg, ObservedGeneration: gen})
}

// violations turns a decision into the bounded list kept on status: results
// in force first (deny, warn, error, audit), then waived ones.
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
			out = append(out, rs[i].Violation())
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
