package status_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/status"
)

func decision(results ...policy.Result) *policy.Decision {
	return &policy.Decision{Kind: v1alpha1.KindSaaSIntegration, Results: results}
}

func TestRecordAndRecords(t *testing.T) {
	deny := policy.Result{Policy: "vendor-approved", Enforcement: "deny", Severity: "high", Message: "prohibited"}
	warn := policy.Result{Policy: "credential-age", Enforcement: "warn", Message: "old"}
	waived := deny
	waived.Exception = &policy.ExceptionRef{Namespace: "growth", Name: "pilot", ExpiresAt: time.Now().Add(time.Hour)}

	si := &v1alpha1.SaaSIntegration{}
	if status.Records(si, decision()) {
		t.Error("a status that never recorded a verdict records the clean one (compliant unset)")
	}
	for _, d := range []*policy.Decision{decision(), decision(deny, warn), decision(waived, warn), decision()} {
		before := si.DeepCopy()
		status.Record(si, d)
		if !status.Records(si, d) {
			t.Errorf("Records is false right after Record of %v", d.Results)
		}
		if got, want := *si.Status.Compliant, !d.Denied(); got != want {
			t.Errorf("compliant %v for %v", got, d.Results)
		}
		if int(si.Status.ViolationCount) != len(d.Results) || len(si.Status.Violations) != len(d.Results) {
			t.Errorf("violations %v, count %d for %d results", si.Status.Violations, si.Status.ViolationCount, len(d.Results))
		}
		if status.Records(before, d) && len(before.Status.Violations) != len(d.Results) {
			t.Errorf("the status before Record records %v", d.Results)
		}
	}
	status.Record(si, decision(deny))
	if status.Records(si, decision(waived)) {
		t.Error("a waived result reads as the same verdict as the deny it waives")
	}
	// A kind without status.compliant.
	v := &v1alpha1.Vendor{}
	status.Record(v, decision(warn))
	if !status.Records(v, decision(warn)) || status.Records(v, decision()) {
		t.Errorf("vendor status %+v", v.Status.CommonStatus)
	}
}

func TestSet(t *testing.T) {
	v := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	status.Set(v, status.Outcome{Reason: "PolicyDenied", Message: strings.Repeat("é", status.MaxConditionMessage), Stalled: true})
	ready := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionReady)
	stalled := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionStalled)
	reconciling := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionReconciling)
	if ready.Status != metav1.ConditionFalse || ready.ObservedGeneration != 3 || len(ready.Message) > status.MaxConditionMessage || !strings.Contains(ready.Message, "more") {
		t.Errorf("Ready %+v: want False, generation 3, a message bounded to %d bytes saying what was cut", ready, status.MaxConditionMessage)
	}
	if stalled.Status != metav1.ConditionTrue || stalled.Message != ready.Message || reconciling.Status != metav1.ConditionFalse {
		t.Errorf("Stalled %+v, Reconciling %+v", stalled, reconciling)
	}
	status.Set(v, status.Outcome{Ready: true, Reason: "Valid", Message: "ok"})
	if stalled := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionStalled); stalled.Status != metav1.ConditionFalse || stalled.Message != "" {
		t.Errorf("Stalled %+v after a Ready outcome", stalled)
	}
}

func TestRejudge(t *testing.T) {
	ctx := context.Background()
	si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Namespace: "growth", Name: "hubspot-email", Generation: 4}}
	var none *status.Rejudge
	if asked, err := none.Ask(ctx, si); asked || err != nil {
		t.Errorf("a nil Rejudge asked: %v, %v", asked, err)
	}
	r := status.NewRejudge()
	if asked, _ := r.Ask(ctx, si); asked {
		t.Error("asked with no reconciler listening")
	}
	integrations, vendors := r.Requests(v1alpha1.KindSaaSIntegration), r.Requests(v1alpha1.KindVendor)
	if asked, err := r.Ask(ctx, si); !asked || err != nil {
		t.Fatalf("Ask = %v, %v; want true, nil", asked, err)
	}
	e := <-integrations
	got, ok := e.Object.(*v1alpha1.SaaSIntegration)
	if !ok || got == si || got.Namespace != "growth" || got.Name != "hubspot-email" || got.Generation != 0 {
		t.Errorf("the event carries %#v; want a fresh key of the integration", e.Object)
	}
	if len(vendors) != 0 {
		t.Error("the vendors' reconciler was asked about an integration")
	}
	if asked, _ := r.Ask(ctx, &v1alpha1.Vendor{}); !asked || len(vendors) != 1 {
		t.Error("the vendors' reconciler was not asked about a vendor")
	}
	// A full channel waits for the reconciler, until ctx ends.
	full, cancel := context.WithCancel(ctx)
	for len(vendors) != cap(vendors) {
		if _, err := r.Ask(ctx, &v1alpha1.Vendor{}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if asked, err := r.Ask(full, &v1alpha1.Vendor{}); !asked || err == nil {
		t.Errorf("Ask on a full channel with ctx ended = %v, %v; want true, the context's error", asked, err)
	}
	if _, ok := any(&appsv1.Deployment{}).(v1alpha1.Object); ok {
		t.Error("a Deployment is one of our objects")
	}
}
