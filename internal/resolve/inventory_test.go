package resolve

import (
	"context"
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// inventoryWorld is a namespace "shop" with the children of workloads a
// and b, a Deployment no workload manages, and a namespace "other" with
// a child of its own; lists counts the List calls made on it.
func inventoryWorld(t *testing.T) (client.Reader, *int) {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	managed := func(extra map[string]string) map[string]string {
		l := map[string]string{render.LabelManagedBy: render.FieldOwner}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	owned := func(workload string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload, Name: workload, UID: "u-" + types.UID(workload), Controller: ptr.To(true)}}
	}
	meta := func(ns, name, workload string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, OwnerReferences: owned(workload)}
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "growth"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
		&appsv1.Deployment{ObjectMeta: meta("shop", "a", "a", managed(map[string]string{render.LabelCostCenter: "mkt-4100"})),
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}},
		&appsv1.Deployment{ObjectMeta: meta("shop", "b", "b", managed(map[string]string{render.LabelCostCenter: "mkt-4200"}))},
		&corev1.Service{ObjectMeta: meta("shop", "b", "b", managed(nil))},
		&corev1.ConfigMap{ObjectMeta: meta("shop", "b-egress", "b", managed(nil)), Data: map[string]string{"secret-ish": "value"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "hand-made"}},
		&appsv1.Deployment{ObjectMeta: meta("other", "c", "c", managed(nil))},
	}
	objs[3].SetAnnotations(map[string]string{"note": "kept"})
	lists := new(int)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			*lists++
			return c.List(ctx, list, opts...)
		},
	}).Build()
	return c, lists
}

func workload(ns, name string) *v1alpha1.MarketingWorkload {
	return &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// Without a constraint reading data.inventory (or without the engine's
// answer wired in) nothing is listed and the request carries none.
func TestInventoryNotReadNothingListed(t *testing.T) {
	ctx := context.Background()
	reader, lists := inventoryWorld(t)
	for _, reads := range []func() bool{nil, func() bool { return false }} {
		inv, err := Resolver{Reader: reader, ReadsInventory: reads}.Inventory(ctx, workload("shop", "a"))
		if err != nil || inv != nil {
			t.Fatalf("Inventory = %v, %v; want nil, nil", inv, err)
		}
		snap := NewSnapshot(reader, SnapshotOf{ReadsInventory: reads})
		if inv, err := snap.Inventory(ctx, workload("shop", "a")); err != nil || inv != nil {
			t.Fatalf("Snapshot.Inventory = %v, %v; want nil, nil", inv, err)
		}
	}
	if *lists != 0 {
		t.Fatalf("%d List calls, want none", *lists)
	}
}

// The inventory of a workload: the other workloads' managed children of its
// namespace, metadata only, and the Namespaces; not its own children, not
// unmanaged objects, not other namespaces' children.
func TestInventoryOtherChildrenAndNamespaces(t *testing.T) {
	ctx := context.Background()
	reader, lists := inventoryWorld(t)
	children, err := listChildren(ctx, reader, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if *lists != len(render.OwnedTypes()) {
		t.Fatalf("%d List calls, want one per child kind (%d)", *lists, len(render.OwnedTypes()))
	}
	nss := []metaItem{
		{namespaceGVK, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "other"}}},
		{namespaceGVK, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "growth"}}}},
	}
	got := func(mw string) []string {
		var out []string
		for _, o := range inventoryObjects(ctx, workload("shop", mw), children, nss) {
			out = append(out, o.GetAPIVersion()+" "+o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
		}
		return out
	}
	if want := []string{"v1 ConfigMap shop/b-egress", "apps/v1 Deployment shop/b", "v1 Service shop/b", "v1 Namespace /other", "v1 Namespace /shop"}; !slices.Equal(got("a"), want) {
		t.Fatalf("inventory of a = %q, want %q", got("a"), want)
	}
	if want := []string{"apps/v1 Deployment shop/a", "v1 Namespace /other", "v1 Namespace /shop"}; !slices.Equal(got("b"), want) {
		t.Fatalf("inventory of b = %q, want %q", got("b"), want)
	}
	for _, o := range inventoryObjects(ctx, workload("shop", "a"), children, nss) {
		if _, ok := o.Object["spec"]; ok {
			t.Fatalf("%s/%s has a spec: the cache holds metadata only", o.GetKind(), o.GetName())
		}
		if _, ok := o.Object["data"]; ok {
			t.Fatalf("%s/%s has data", o.GetKind(), o.GetName())
		}
		if o.GetKind() == "Deployment" {
			if o.GetLabels()[render.LabelCostCenter] != "mkt-4200" || o.GetAnnotations()["note"] != "kept" {
				t.Fatalf("Deployment b's metadata = %v", o.Object["metadata"])
			}
			if _, ok := o.Object["metadata"].(map[string]any)["ownerReferences"]; ok {
				t.Fatal("only name, namespace, labels and annotations are shown")
			}
		}
	}
	inv, err := Resolver{Reader: reader, ReadsInventory: func() bool { return true }}.Inventory(ctx, workload("shop", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Len() != 5 {
		t.Fatalf("Resolver.Inventory has %d objects, want 5", inv.Len())
	}
}

// The audit lists the children once per pass, whatever the number of
// workloads, and applies the same rule.
func TestSnapshotInventoryListedOnce(t *testing.T) {
	ctx := context.Background()
	reader, lists := inventoryWorld(t)
	snap := NewSnapshot(reader, SnapshotOf{
		Namespaces:     []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, {ObjectMeta: metav1.ObjectMeta{Name: "other"}}},
		ReadsInventory: func() bool { return true },
	})
	for _, tc := range []struct {
		ns, name string
		want     int
	}{{"shop", "a", 3 + 2}, {"shop", "b", 1 + 2}, {"other", "c", 0 + 2}, {"other", "d", 1 + 2}} {
		inv, err := snap.Inventory(ctx, workload(tc.ns, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if inv.Len() != tc.want {
			t.Fatalf("inventory of %s/%s has %d objects, want %d", tc.ns, tc.name, inv.Len(), tc.want)
		}
	}
	if *lists != len(render.OwnedTypes()) {
		t.Fatalf("%d List calls for 4 workloads, want %d (each child kind once)", *lists, len(render.OwnedTypes()))
	}
}

// Beyond MaxInventory objects the inventory is cut, always at the same
// place: children sorted by kind and name first.
func TestInventoryBounded(t *testing.T) {
	var children []metaItem
	for i := MaxInventory + 10; i > 0; i-- {
		children = append(children, metaItem{corev1.SchemeGroupVersion.WithKind("ConfigMap"),
			&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("cm-%05d", i)}}})
	}
	nss := []metaItem{{namespaceGVK, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}}
	objs := inventoryObjects(context.Background(), workload("shop", "a"), children, nss)
	if len(objs) != MaxInventory {
		t.Fatalf("%d objects, want %d", len(objs), MaxInventory)
	}
	if objs[0].GetName() != "cm-00001" || objs[len(objs)-1].GetName() != fmt.Sprintf("cm-%05d", MaxInventory) {
		t.Fatalf("kept %s … %s, want the first %d by name", objs[0].GetName(), objs[len(objs)-1].GetName(), MaxInventory)
	}
}

// A workload created after the audit's snapshot was taken still owns the
// children the reconciler provisioned for it: the audit lists raw objects
// after the snapshot, and they are not shadow IT.
func TestSnapshotOwnerCreatedAfterSnapshot(t *testing.T) {
	ctx := context.Background()
	reader, _ := inventoryWorld(t)
	snap := NewSnapshot(reader, SnapshotOf{Workloads: []v1alpha1.MarketingWorkload{*workload("shop", "b")}})
	child := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "a", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload, Name: "a", Controller: ptr.To(true)}}}}
	if w, err := snap.Owner(ctx, child); err != nil || w != nil {
		t.Fatalf("owner %v, %v: workload a does not exist", w, err)
	}
	c, ok := reader.(client.Client)
	if !ok {
		t.Fatalf("the inventory world's reader (%T) cannot create", reader)
	}
	if err := c.Create(ctx, workload("shop", "a")); err != nil {
		t.Fatal(err)
	}
	if w, err := snap.Owner(ctx, child); err != nil || w == nil || w.Name != "a" {
		t.Fatalf("owner %v, %v: want workload a, created after the snapshot", w, err)
	}
}
