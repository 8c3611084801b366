package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/internal/render"
)

// The manager's informer cache holds what the operator owns and reads, not
// the cluster: its memory follows the number of MarketingWorkloads, however
// many ConfigMaps, Deployments and Services others keep beside them.
//
//   - Children (every kind of render.OwnedTypes) are cached only when they
//     carry app.kubernetes.io/managed-by=martech-guardrails, which
//     render.Labels sets on every child and has since the first release. A
//     child whose label someone removes leaves the cache: the watch reports
//     it deleted, the owning workload is reconciled, finds no child, applies
//     it, and the label is back. The same happens, at start-up, to a child
//     that lost the label while no manager ran (every workload is reconciled
//     once when the manager starts), so an upgrade adopts such children
//     without any step by hand.
//   - Secrets (credential age) and Namespaces (labels) are read as metadata
//     only (*metav1.PartialObjectMetadata), so their informers hold no data,
//     no spec and no status. Secrets only in the namespaces given.
//   - managedFields are dropped from every cached object
//     (cache.TransformStripManagedFields); nothing in the manager reads them
//     and they are often the largest part of a small object.
//
// Our own kinds (MarketingWorkload and the catalogue) are cached whole.
// Whatever must see objects that are not ours reads them with a direct,
// bounded call (the manager's APIReader, one object or one page at a
// time), never through a cluster-wide informer.

// ChildSelector selects the children the renderer makes.
func ChildSelector() labels.Selector {
	req, err := labels.NewRequirement(render.LabelManagedBy, selection.Equals, []string{render.FieldOwner})
	if err != nil {
		panic(err) // constant, valid key and value
	}
	return labels.NewSelector().Add(*req)
}

// CacheOptions are the manager's cache options, for cmd/manager and for every
// envtest suite and benchmark alike. secretNamespaces are the namespaces
// whose Secret metadata is cached; nil caches it everywhere (tests, where the
// manager may read every Secret); an empty, non-nil slice is not allowed by
// controller-runtime (it would mean every namespace) and is treated as nil.
func CacheOptions(secretNamespaces []string) cache.Options {
	byObject := map[client.Object]cache.ByObject{}
	for _, child := range render.OwnedTypes() {
		byObject[child] = cache.ByObject{Label: ChildSelector()}
	}
	if len(secretNamespaces) > 0 {
		byNS := make(map[string]cache.Config, len(secretNamespaces))
		for _, ns := range secretNamespaces {
			byNS[ns] = cache.Config{}
		}
		// The cache keys its informers by kind: this restricts the
		// metadata informer the resolver uses and any typed one alike.
		byObject[&corev1.Secret{}] = cache.ByObject{Namespaces: byNS}
	}
	return cache.Options{
		ByObject:         byObject,
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
