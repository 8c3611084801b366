package status_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/status"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

// The helper's tests run against a real kube-apiserver and etcd with the
// API's CRDs. c counts the status writes it sends (writes).
var (
	c      client.Client
	writes atomic.Int32
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{testenv.RepoPath("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.Assets(),
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	raw, err := client.NewWithWatch(cfg, client.Options{Scheme: s})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c = interceptor.NewClient(raw, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			writes.Add(1)
			return cl.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
	return m.Run()
}

func newVendor(t *testing.T, name string) *v1alpha1.Vendor {
	t.Helper()
	v := &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.VendorSpec{DisplayName: name, Category: "crm", Status: "approved"},
	}
	if err := c.Create(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), v) })
	return read(t, name)
}

func read(t *testing.T, name string) *v1alpha1.Vendor {
	t.Helper()
	var v v1alpha1.Vendor
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// reconcile is a reconcile's end as the reconcilers write it: read, change
// the status with change, defer the helper's Patch with the outcome.
func reconcile(t *testing.T, name string, change func(*v1alpha1.Vendor) error) (written int32, err error) {
	t.Helper()
	v := read(t, name)
	before := writes.Load()
	err = func() (err error) {
		st := status.NewHelper(c, v)
		defer func() { err = st.Patch(context.Background(), v, err) }()
		return change(v)
	}()
	return writes.Load() - before, err
}

func ready(msg string) func(*v1alpha1.Vendor) error {
	return func(v *v1alpha1.Vendor) error {
		status.Set(v, status.Outcome{Ready: true, Reason: "Valid", Message: msg})
		return nil
	}
}

func TestPatchWritesOnlyWhatChanged(t *testing.T) {
	v := newVendor(t, "unchanged")
	if v.Status.ObservedGeneration != 0 || v.Generation != 1 {
		t.Fatalf("new vendor: observedGeneration %d, generation %d", v.Status.ObservedGeneration, v.Generation)
	}
	n, err := reconcile(t, v.Name, ready("approved vendor"))
	if err != nil || n != 1 {
		t.Fatalf("first reconcile: %d writes, %v; want 1, nil", n, err)
	}
	first := read(t, v.Name)
	if first.Status.ObservedGeneration != 1 || !meta.IsStatusConditionTrue(first.Status.Conditions, v1alpha1.ConditionReady) {
		t.Fatalf("after the first reconcile: observedGeneration %d, conditions %v", first.Status.ObservedGeneration, first.Status.Conditions)
	}
	for i := range 3 {
		n, err := reconcile(t, v.Name, ready("approved vendor"))
		if err != nil || n != 0 {
			t.Fatalf("unchanged reconcile %d: %d writes, %v; want 0, nil", i, n, err)
		}
	}
	if rv := read(t, v.Name).ResourceVersion; rv != first.ResourceVersion {
		t.Errorf("resourceVersion went from %s to %s with nothing changed", first.ResourceVersion, rv)
	}
	// Nil and empty lists are the same status.
	n, err = reconcile(t, v.Name, func(v *v1alpha1.Vendor) error {
		v.Status.Violations, v.Status.Teams = []v1alpha1.Violation{}, []string{}
		return ready("approved vendor")(v)
	})
	if err != nil || n != 0 {
		t.Errorf("empty lists for absent ones: %d writes, %v; want 0, nil", n, err)
	}
	n, err = reconcile(t, v.Name, func(v *v1alpha1.Vendor) error {
		v.Status.Integrations = 2
		return ready("approved vendor used by 2 integrations")(v)
	})
	if err != nil || n != 1 {
		t.Fatalf("changed reconcile: %d writes, %v; want 1, nil", n, err)
	}
	got := read(t, v.Name)
	if got.Status.Integrations != 2 || meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady).Message != "approved vendor used by 2 integrations" {
		t.Errorf("the change was not written: %+v", got.Status)
	}
}

func TestObservedGenerationOnlyOnSuccess(t *testing.T) {
	v := newVendor(t, "generations")
	if _, err := reconcile(t, v.Name, ready("ok")); err != nil {
		t.Fatal(err)
	}
	v = read(t, v.Name)
	v.Spec.DisplayName = "changed"
	if err := c.Update(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("the standard could not be read")
	for _, tc := range []struct {
		err        error
		wantReason string
	}{
		{status.Fail("ResolveFailed", boom), "ResolveFailed"},
		{boom, status.ReasonFailed},
		{status.Fail("EvaluationFailed", apierrors.NewConflict(schema.GroupResource{Resource: "vendors"}, "x", boom)), "EvaluationFailed"},
		{apierrors.NewConflict(schema.GroupResource{Resource: "vendors"}, "x", boom), status.ReasonReconciling},
	} {
		_, err := reconcile(t, v.Name, func(*v1alpha1.Vendor) error { return tc.err })
		if !errors.Is(err, tc.err) {
			t.Fatalf("Patch returned %v, want the reconcile's error", err)
		}
		got := read(t, v.Name)
		cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != tc.wantReason || cond.Message != tc.err.Error() || cond.ObservedGeneration != 2 {
			t.Errorf("%v: Ready condition %+v; want False, %s, the error's message, generation 2", tc.err, cond, tc.wantReason)
		}
		if got.Status.ObservedGeneration != 1 {
			t.Errorf("%v: observedGeneration %d after a failed reconcile of generation 2; want 1", tc.err, got.Status.ObservedGeneration)
		}
		if stalled := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled); stalled == nil || stalled.Status != metav1.ConditionFalse {
			t.Errorf("%v: Stalled %+v; an error is retried, not stalled", tc.err, stalled)
		}
	}
	if _, err := reconcile(t, v.Name, ready("ok")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, v.Name).Status.ObservedGeneration; got != 2 {
		t.Errorf("observedGeneration %d after a successful reconcile of generation 2", got)
	}
}

func TestPatchOfAStaleCopyIsAConflict(t *testing.T) {
	v := newVendor(t, "stale")
	stale := read(t, v.Name)
	if _, err := reconcile(t, v.Name, ready("fresh")); err != nil {
		t.Fatal(err)
	}
	st := status.NewHelper(c, stale)
	status.Set(stale, status.Outcome{Reason: "Old", Message: "from a stale copy"})
	err := st.Patch(context.Background(), stale, nil)
	if !apierrors.IsConflict(err) {
		t.Fatalf("patching from a stale copy: %v; want a conflict", err)
	}
	if msg := meta.FindStatusCondition(read(t, v.Name).Status.Conditions, v1alpha1.ConditionReady).Message; msg != "fresh" {
		t.Errorf("the stale copy's status was written: %q", msg)
	}
}

func TestPatchOfADeletedObject(t *testing.T) {
	v := newVendor(t, "deleted")
	if err := c.Delete(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	st := status.NewHelper(c, v)
	status.Set(v, status.Outcome{Ready: true, Reason: "Valid"})
	if err := st.Patch(context.Background(), v, nil); err != nil {
		t.Errorf("patching a deleted object: %v; want nil (nothing to record)", err)
	}
}
