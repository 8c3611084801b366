package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// applyChildren server-side applies the rendered children under one field
// owner with the workload as controller, and deletes the children it owns that
// are no longer rendered.
func (r *MarketingWorkloadReconciler) applyChildren(ctx context.Context, mw *v1alpha1.MarketingWorkload, c render.Children) error {
	for _, obj := range c.Objects() {
		if err := controllerutil.SetControllerReference(mw, obj, r.Scheme); err != nil {
			return fmt.Errorf("owner reference on %T %s: %w", obj, obj.GetName(), err)
		}
		u, err := toApplyObject(obj, r.Scheme)
		if err != nil {
			return err
		}
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(render.FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return r.deleteAbsent(ctx, mw, c)
}

// deleteAbsent deletes the children this render no longer has (the Ingress
// of an Ended campaign, the PDB at one replica, all of them when Archived),
// but only those the workload controls.
func (r *MarketingWorkloadReconciler) deleteAbsent(ctx context.Context, mw *v1alpha1.MarketingWorkload, c render.Children) error {
	for _, obj := range render.Absent(mw, c) {
		if err := r.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if !metav1.IsControlledBy(obj, mw) {
			continue
		}
		if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// toApplyObject turns a typed child into the unstructured form server-side
// apply takes, without status or empty creation timestamps.
func toApplyObject(obj client.Object, scheme *runtime.Scheme) (*unstructured.Unstructured, error) {
	gvk, err := gvkOf(obj, scheme)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

func gvkOf(obj runtime.Object, scheme *runtime.Scheme) (schema.GroupVersionKind, error) {
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}, fmt.Errorf("no kind registered for %T: %v", obj, err)
	}
	return gvks[0], nil
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

// summary is one line naming each deny result, for conditions and events.
func summary(d *policy.Decision) string {
	if d == nil {
		return ""
	}
	var parts []string
	for _, res := range d.Denies() {
		parts = append(parts, fmt.Sprintf("%s: %s", res.Policy, res.Message))
	}
	return strings.Join(parts, "; ")
}

func readyMessage(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
