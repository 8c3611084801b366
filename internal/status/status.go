// Package status is the one writer of the status of the six kinds.
//
// A reconciler takes a Helper when it has read its object and defers its
// Patch: the status is written once, at the end, only when it changed
// (an idle resync costs no write), with status.observedGeneration set only
// when the reconcile succeeded and a Ready condition on every error. What a
// reconcile concluded is an Outcome (Set); what the engine decided is
// recorded with Record.
//
// Any other door that finds an object's recorded verdict out of date (the
// background audit, when time or a policy alone changed it) does not write
// the status: it asks the object's reconciler to judge it again through a
// Rejudge, and the reconciler writes it.
package status

import (
	"errors"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// Reasons the helper gives itself.
const (
	// ReasonReconciling: the reconcile lost an optimistic-concurrency race
	// and runs again.
	ReasonReconciling = "Reconciling"
	// ReasonFailed: a reconcile error that names no step (see Fail).
	ReasonFailed = "ReconcileFailed"
)

// MaxConditionMessage bounds a condition message: the API server allows
// 32 KiB, and a custom policy's message is as long as its author makes it.
// A cut message ends with how much was cut.
const MaxConditionMessage = 1024

// Outcome is what a reconcile concluded about its object, as the kstatus
// conditions show it.
type Outcome struct {
	// Ready is the Ready condition's status.
	Ready bool
	// Reason and Message of the Ready condition (and of Stalled).
	Reason, Message string
	// Stalled: the object cannot progress without a change by a person (a
	// policy denies it, a policy does not compile).
	Stalled bool
}

// Set records o in obj's conditions: Ready with o's reason and message,
// Reconciling false, and Stalled as o says (with the message only when
// true), each observing obj's generation.
func Set(obj v1alpha1.Object, o Outcome) {
	conds := &obj.GetCommonStatus().Conditions
	gen := obj.GetGeneration()
	msg := policy.Bound(o.Message, MaxConditionMessage)
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReady, Status: conditionStatus(o.Ready), Reason: o.Reason, Message: msg, ObservedGeneration: gen})
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: o.Reason, ObservedGeneration: gen})
	if !o.Stalled {
		msg = ""
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: conditionStatus(o.Stalled), Reason: o.Reason, Message: msg, ObservedGeneration: gen})
}

func conditionStatus(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

// Record writes the engine's decision about obj into its status:
// violations and violationCount (policy.StatusViolations, the one rule for
// what a status keeps), and compliant where the kind has it.
func Record(obj v1alpha1.Object, d *policy.Decision) {
	st := obj.GetCommonStatus()
	st.Violations, st.ViolationCount = d.StatusViolations()
	if c, ok := obj.(v1alpha1.Compliance); ok {
		c.SetCompliant(ptr.To(!d.Denied()))
	}
}

// Records reports whether obj's status already holds what Record would
// write for d.
func Records(obj v1alpha1.Object, d *policy.Decision) bool {
	st := obj.GetCommonStatus()
	vs, n := d.StatusViolations()
	if st.ViolationCount != n || !equality.Semantic.DeepEqual(st.Violations, vs) {
		return false
	}
	c, ok := obj.(v1alpha1.Compliance)
	return !ok || (c.GetCompliant() != nil && *c.GetCompliant() == !d.Denied())
}

// Failure is a reconcile error and the reason its Ready condition gives:
// the step that failed.
type Failure struct {
	Reason string
	Err    error
}

// Fail wraps err with the reason of the step that failed (nil stays nil).
func Fail(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &Failure{Reason: reason, Err: err}
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// ReasonOf is the Ready reason of a reconcile error: the step's (Fail),
// ReasonReconciling for a conflict, else ReasonFailed.
func ReasonOf(err error) string {
	if f, ok := errors.AsType[*Failure](err); ok {
		return f.Reason
	}
	if apierrors.IsConflict(err) {
		return ReasonReconciling
	}
	return ReasonFailed
}
