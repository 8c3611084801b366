package resolve

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// MaxInventory bounds the objects a door puts in a workload's
// data.inventory (Gatekeeper templates): the managed children of the
// workload's namespace first, then Namespaces, each sorted (kind, name), so
// that what is cut beyond the bound is always the same.
const MaxInventory = 5000

// childGVKs are the kinds of render.OwnedTypes, in that order.
var childGVKs = sync.OnceValue(func() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(render.OwnedTypes()))
	for _, o := range render.OwnedTypes() {
		gvk, err := apiutil.GVKForObject(o, clientgoscheme.Scheme)
		if err != nil {
			panic(err) // built-in kinds, always in client-go's scheme
		}
		out = append(out, gvk)
	}
	return out
})

var namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")

// ChildMetadata are empty metadata-only objects of every child kind: how
// the resolver lists children for data.inventory, and what a webhook-only
// replica warms (the manager caches children as metadata only).
func ChildMetadata() []client.Object {
	out := make([]client.Object, 0, len(childGVKs()))
	for _, gvk := range childGVKs() {
		var m metav1.PartialObjectMetadata
		m.SetGroupVersionKind(gvk)
		out = append(out, &m)
	}
	return out
}

// metaItem is one object of an inventory as the cache holds it.
type metaItem struct {
	gvk  schema.GroupVersionKind
	meta *metav1.PartialObjectMetadata
}

// Inventory returns what Gatekeeper templates read as data.inventory for
// mw, beside its own rendered children (which the engine adds): the other
// managed children of its namespace and the Namespaces, as the reader (the
// manager's cache) holds them, metadata only. Nil when ReadsInventory is
// unset or says no constraint in force reads data.inventory: nothing is
// listed then.
func (r Resolver) Inventory(ctx context.Context, mw *v1alpha1.MarketingWorkload) (*gatekeeper.Inventory, error) {
	if r.ReadsInventory == nil || !r.ReadsInventory() {
		return nil, nil
	}
	children, err := listChildren(ctx, r.Reader, mw.Namespace)
	if err != nil {
		return nil, err
	}
	var nss metav1.PartialObjectMetadataList
	nss.SetGroupVersionKind(namespaceGVK.GroupVersion().WithKind("NamespaceList"))
	if err := r.Reader.List(ctx, &nss, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing Namespaces for data.inventory: %w", err)
	}
	namespaces := make([]metaItem, 0, len(nss.Items))
	for i := range nss.Items {
		namespaces = append(namespaces, metaItem{namespaceGVK, &nss.Items[i]})
	}
	slices.SortFunc(namespaces, byKindName)
	return inventoryOf(ctx, mw, children, namespaces)
}

// listChildren lists the managed children of every child kind in namespace
// ("": all) from reader, without copies (read only).
func listChildren(ctx context.Context, reader client.Reader, namespace string) ([]metaItem, error) {
	var out []metaItem
	for _, gvk := range childGVKs() {
		var list metav1.PartialObjectMetadataList
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		err := reader.List(ctx, &list, client.InNamespace(namespace),
			client.MatchingLabels{render.LabelManagedBy: render.FieldOwner}, client.UnsafeDisableDeepCopy)
		if err != nil {
			return nil, fmt.Errorf("listing %ss for data.inventory: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			out = append(out, metaItem{gvk, &list.Items[i]})
		}
	}
	return out, nil
}

// byKindName orders an inventory: by kind, group, then name.
func byKindName(a, b metaItem) int {
	return cmp.Or(cmp.Compare(a.gvk.Kind, b.gvk.Kind), cmp.Compare(a.gvk.Group, b.gvk.Group), cmp.Compare(a.meta.Name, b.meta.Name))
}

// inventoryOf is the one rule of a workload's inventory: children of mw's
// namespace that mw does not control, sorted, then namespaces (sorted by
// the caller; shared, read only), bounded by MaxInventory, each as
// {apiVersion, kind, metadata{name, namespace, labels, annotations}}.
func inventoryOf(ctx context.Context, mw *v1alpha1.MarketingWorkload, children, namespaces []metaItem) (*gatekeeper.Inventory, error) {
	return gatekeeper.NewInventory(inventoryObjects(ctx, mw, children, namespaces))
}

// inventoryObjects are the objects of inventoryOf.
func inventoryObjects(ctx context.Context, mw *v1alpha1.MarketingWorkload, children, namespaces []metaItem) []*unstructured.Unstructured {
	others := make([]metaItem, 0, len(children))
	for _, c := range children {
		if c.meta.Namespace != mw.Namespace {
			continue
		}
		if name, ok := workloadOwner(c.meta); ok && name == mw.Name {
			continue // the engine adds mw's children as rendered
		}
		others = append(others, c)
	}
	slices.SortFunc(others, byKindName)
	all := append(others, namespaces...)
	if len(all) > MaxInventory {
		logf.FromContext(ctx).Info("data.inventory truncated", "workload", mw.Namespace+"/"+mw.Name, "objects", len(all), "kept", MaxInventory)
		all = all[:MaxInventory]
	}
	objs := make([]*unstructured.Unstructured, 0, len(all))
	for _, it := range all {
		objs = append(objs, metadataObject(it))
	}
	return objs
}

// metadataObject is it as data.inventory shows it: no spec, no status.
func metadataObject(it metaItem) *unstructured.Unstructured {
	meta := map[string]any{"name": it.meta.Name}
	if it.meta.Namespace != "" {
		meta["namespace"] = it.meta.Namespace
	}
	if m := stringMap(it.meta.Labels); m != nil {
		meta["labels"] = m
	}
	if m := stringMap(it.meta.Annotations); m != nil {
		meta["annotations"] = m
	}
	apiVersion, kind := it.gvk.ToAPIVersionAndKind()
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}}
}

func stringMap(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
