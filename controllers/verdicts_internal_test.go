package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/status"
)

func TestRequeueConflicts(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: v1alpha1.GroupVersion.Group, Resource: "vendors"}, "hubspot", errors.New("the object has been modified"))
	for _, tt := range []struct {
		name      string
		err       error
		wantErr   bool
		wantV1Log bool
	}{
		{name: "a conflict is a requeue", err: conflict, wantV1Log: true},
		{name: "a wrapped conflict too", err: status.Fail(ReasonApplyFailed, conflict), wantV1Log: true},
		{name: "other errors stay errors", err: errors.New("boom"), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs []string
			log := funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{Verbosity: 1, LogInfoLevel: new("level")})
			ctx := logf.IntoContext(context.Background(), log)
			r := requeueConflicts(reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, tt.err }))
			res, err := r.Reconcile(ctx, reconcile.Request{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if !tt.wantErr && res.RequeueAfter != conflictRetry {
				t.Errorf("RequeueAfter = %s, want %s", res.RequeueAfter, conflictRetry)
			}
			got := strings.Join(logs, "\n")
			if tt.wantV1Log != strings.Contains(got, `"level"=1`) {
				t.Errorf("log lines %q: want a V(1) line %t", got, tt.wantV1Log)
			}
		})
	}
}

func TestNewVerdict(t *testing.T) {
	a := v1alpha1.CommonStatus{Violations: []v1alpha1.Violation{{Policy: "vendor-approved", Message: "prohibited"}}}
	b := v1alpha1.CommonStatus{Violations: []v1alpha1.Violation{{Policy: "allowed-registries", Message: "docker.io"}}}
	if newVerdict(&a, a.DeepCopy(), true) {
		t.Error("the same verdict again counts as new: one event per reconcile")
	}
	if !newVerdict(&a, &b, true) {
		t.Error("a different verdict does not count as new")
	}
	if !newVerdict(&a, a.DeepCopy(), false) {
		t.Error("a first denial does not count as new")
	}
}
