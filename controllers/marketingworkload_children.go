package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
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
		hash, err := appliedHash(u)
		if err != nil {
			return err
		}
		u.SetAnnotations(withAnnotation(u.GetAnnotations(), AppliedHashAnnotation, hash))
		if r.upToDate(ctx, mw, obj, u, hash) {
			continue
		}
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(render.FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return r.deleteAbsent(ctx, mw, c)
}

// upToDate reports whether the live child (read from the informer cache)
// already holds what applying u would write, so the apply can be left out:
// it is controlled by mw, was last applied from this very render (the hash
// annotation), and every field u sets still has u's value (nobody changed
// the image or the replicas since). Fields others added, such as defaults
// and status, do not matter; a list must match element by element. When in
// doubt (not in the cache, a value the server normalised) it says no and the
// apply goes ahead, as it always did.
func (r *MarketingWorkloadReconciler) upToDate(ctx context.Context, mw *v1alpha1.MarketingWorkload, obj client.Object, u *unstructured.Unstructured, hash string) bool {
	live, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false
	}
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return false
	}
	if live.GetDeletionTimestamp() != nil || live.GetAnnotations()[AppliedHashAnnotation] != hash || !metav1.IsControlledBy(live, mw) {
		return false
	}
	lm, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		return false
	}
	for k, want := range u.Object {
		if k == "apiVersion" || k == "kind" {
			continue // typed objects from the cache carry no TypeMeta
		}
		if !holds(lm[k], want) {
			return false
		}
	}
	return true
}

// holds reports whether live has every value of want: maps may have more
// keys, lists must have the same length and hold want's elements in order.
// An empty map or list in want holds for an absent value (the API server
// drops some).
func holds(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		for k, wv := range w {
			if !holds(l[k], wv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return live == nil && len(w) == 0
		}
		if len(l) != len(w) {
			return false
		}
		for i := range w {
			if !holds(l[i], w[i]) {
				return false
			}
		}
		return true
	case nil:
		return live == nil
	}
	return reflect.DeepEqual(live, want)
}

// appliedHash is a digest of the apply object, recorded on the child in
// AppliedHashAnnotation: when the render changes (a field dropped, not only
// changed), the hash does, and the child is applied again.
func appliedHash(u *unstructured.Unstructured) (string, error) {
	data, err := json.Marshal(u.Object) // maps are written in key order
	if err != nil {
		return "", fmt.Errorf("hashing %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12]), nil
}

func withAnnotation(m map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(m)+1)
	maps.Copy(out, m)
	out[key] = value
	return out
}

// deleteAbsent deletes the children this render no longer has (the Ingress
// of an Ended campaign, the PDB at one replica, all of them when Archived),
// but only those the workload controls.
func (r *MarketingWorkloadReconciler) deleteAbsent(ctx context.Context, mw *v1alpha1.MarketingWorkload, c render.Children) error {
	for _, obj := range render.Absent(mw, c) {
		if err := r.getChild(ctx, mw, obj); err != nil {
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

// getChild reads a child that is no longer rendered. The cache holds only
// children that carry the operator's label (CacheOptions); one whose label
// was removed by hand is read from the API server, a single object, but
// only when the status lists it among the children last applied: most
// absent kinds (no Ingress, no PDB) were never made and cost no request.
func (r *MarketingWorkloadReconciler) getChild(ctx context.Context, mw *v1alpha1.MarketingWorkload, obj client.Object) error {
	listed := madeBefore(mw, obj)
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) && listed && r.APIReader != nil {
		return r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	}
	return err
}

// madeBefore reports whether the workload's status lists obj (an empty child
// with TypeMeta, from render.Absent) among the children it last applied.
func madeBefore(mw *v1alpha1.MarketingWorkload, obj client.Object) bool {
	gvk := obj.GetObjectKind().GroupVersionKind()
	for _, ref := range mw.Status.Resources {
		if ref.Kind == gvk.Kind && ref.APIVersion == gvk.GroupVersion().String() && ref.Name == obj.GetName() {
			return true
		}
	}
	return false
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

// readyMessage is the Ready condition's message.
func readyMessage(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

func objectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
