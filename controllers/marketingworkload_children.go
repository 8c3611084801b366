package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
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
// owner with the workload as controller, deletes the children it owns that
// are no longer rendered, and returns the refs of the children with the
// version each is at (for status.resources).
func (r *MarketingWorkloadReconciler) applyChildren(ctx context.Context, mw *v1alpha1.MarketingWorkload, c render.Children) ([]v1alpha1.ResourceRef, error) {
	objs := c.Objects()
	refs := c.Refs()
	for i, obj := range objs {
		if err := controllerutil.SetControllerReference(mw, obj, r.Scheme); err != nil {
			return nil, fmt.Errorf("owner reference on %T %s: %w", obj, obj.GetName(), err)
		}
		u, err := toApplyObject(obj, r.Scheme)
		if err != nil {
			return nil, err
		}
		hash, err := appliedHash(u)
		if err != nil {
			return nil, err
		}
		u.SetAnnotations(withAnnotation(u.GetAnnotations(), AppliedHashAnnotation, hash))
		if v, ok := r.upToDate(ctx, mw, u, hash); ok {
			refs[i].Version = v
			continue
		}
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(render.FieldOwner), client.ForceOwnership); err != nil {
			return nil, fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		refs[i].Version = versionOf(u) // u now holds the API server's answer
	}
	return refs, r.deleteAbsent(ctx, mw, c)
}

// upToDate reports whether the live child already holds what applying u
// would write, so the apply can be left out, and its version. The cache
// holds children as metadata only (CacheOptions), so it asks: is the child
// there, controlled by mw and not being deleted; was it last applied from
// this very render (the hash annotation); do its labels and annotations
// still have u's values; and is it still at the version the last apply left
// (status.resources), so nobody changed its spec or data since. When in
// doubt (not in the cache, no version recorded, as after an upgrade from a
// release that recorded none) it says no and the apply goes ahead: one
// no-op apply records the version.
func (r *MarketingWorkloadReconciler) upToDate(ctx context.Context, mw *v1alpha1.MarketingWorkload, u *unstructured.Unstructured, hash string) (string, bool) {
	recorded := recordedVersion(mw, u.GroupVersionKind(), u.GetName())
	if recorded == "" {
		return "", false
	}
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if err := r.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
		return "", false
	}
	if live.GetDeletionTimestamp() != nil || live.GetAnnotations()[AppliedHashAnnotation] != hash || !metav1.IsControlledBy(live, mw) {
		return "", false
	}
	if versionOf(live) != recorded {
		return "", false
	}
	if !holds(stringMap(live.GetLabels()), stringMap(u.GetLabels())) || !holds(stringMap(live.GetAnnotations()), stringMap(u.GetAnnotations())) {
		return "", false
	}
	return recorded, true
}

// versionOf is what status.resources records of a child: its generation,
// which only a change of its spec moves (a Deployment's rollout status does
// not), or its resourceVersion for kinds without one (ConfigMap, Service,
// ServiceAccount), which any change moves.
func versionOf(o metav1.Object) string {
	if g := o.GetGeneration(); g > 0 {
		return "g" + strconv.FormatInt(g, 10)
	}
	return "rv" + o.GetResourceVersion()
}

// recordedVersion is the version status.resources records for a child, or "".
func recordedVersion(mw *v1alpha1.MarketingWorkload, gvk schema.GroupVersionKind, name string) string {
	for _, ref := range mw.Status.Resources {
		if ref.Kind == gvk.Kind && ref.APIVersion == gvk.GroupVersion().String() && ref.Name == name {
			return ref.Version
		}
	}
	return ""
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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
		child, err := r.getChild(ctx, mw, obj)
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if !metav1.IsControlledBy(child, mw) {
			continue
		}
		if err := r.Delete(ctx, child); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s %s: %w", child.Kind, child.GetName(), err)
		}
	}
	return nil
}

// getChild reads the metadata of a child that is no longer rendered (obj,
// empty with TypeMeta, from render.Absent). The cache holds only children
// that carry the operator's label (CacheOptions); one whose label was
// removed by hand is read from the API server, a single object, but only
// when the status lists it among the children last applied: most absent
// kinds (no Ingress, no PDB) were never made and cost no request.
func (r *MarketingWorkloadReconciler) getChild(ctx context.Context, mw *v1alpha1.MarketingWorkload, obj client.Object) (*metav1.PartialObjectMetadata, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	key := client.ObjectKeyFromObject(obj)
	listed := slices.ContainsFunc(mw.Status.Resources, func(ref v1alpha1.ResourceRef) bool {
		return ref.Kind == gvk.Kind && ref.APIVersion == gvk.GroupVersion().String() && ref.Name == key.Name
	})
	child := &metav1.PartialObjectMetadata{}
	child.SetGroupVersionKind(gvk)
	err := r.Get(ctx, key, child)
	if apierrors.IsNotFound(err) && listed && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, child)
	}
	return child, err
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
		return schema.GroupVersionKind{}, fmt.Errorf("no kind registered for %T: %w", obj, err)
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
