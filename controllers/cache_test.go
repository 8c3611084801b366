package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/render"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// What the manager's cache holds (controllers.CacheOptions): the children it
// renders, not the cluster.
var _ = Describe("the manager's cache", Ordered, func() {
	ctx := context.Background()
	const (
		cacheNS     = "cache-owned"
		unrelatedNS = "cache-unrelated"
	)

	BeforeAll(func() {
		applySamples(ctx)
		for _, name := range []string{cacheNS, unrelatedNS} {
			Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))).To(Succeed())
		}
	})

	workload := func(name string, replicas int32) *v1alpha1.MarketingWorkload {
		return &v1alpha1.MarketingWorkload{
			ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: name},
			Spec: v1alpha1.MarketingWorkloadSpec{
				Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
				CostCenter: "MKT-4100",
				Image:      "ghcr.io/acme-marketing/cache-site:1.0.0",
				Replicas:   ptr.To(replicas),
			},
		}
	}
	readyAt := func(name string) func(g Gomega) {
		return func(g Gomega) {
			mw := getMW(ctx, cacheNS, name)(g)
			g.Expect(mw.Status.ObservedGeneration).To(Equal(mw.Generation))
			g.Expect(mw.Status.Phase).To(Equal(v1alpha1.PhaseActive))
		}
	}
	// The manager caches children as metadata (builder.OnlyMetadata), so
	// that is how these specs look into its cache.
	inCache := func(obj client.Object) func() error {
		return func() error { return mgrCache.Get(ctx, client.ObjectKeyFromObject(obj), metadataOf(obj)) }
	}
	removeLabel := func(obj client.Object) {
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
		l := obj.GetLabels()
		delete(l, render.LabelManagedBy)
		obj.SetLabels(l)
		Expect(k8sClient.Patch(ctx, obj, patch)).To(Succeed())
	}

	It("holds the children it renders, without managedFields, and none of the objects others keep", func() {
		Expect(k8sClient.Create(ctx, workload("cached-site", 1))).To(Succeed())
		Eventually(readyAt("cached-site")).WithTimeout(30 * time.Second).Should(Succeed())

		child := metadataOf(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: "cached-site"}})
		Eventually(func() error { return mgrCache.Get(ctx, client.ObjectKeyFromObject(child), child) }).Should(Succeed())
		Expect(child.ManagedFields).To(BeEmpty(), "the cache transform drops managedFields")
		Expect(child.Annotations).To(HaveKey(controllers.AppliedHashAnnotation))
		var live appsv1.Deployment
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(child), &live)).To(Succeed())
		Expect(live.ManagedFields).NotTo(BeEmpty(), "the API server keeps them")

		labels := map[string]string{"app.kubernetes.io/name": "someone-elses"}
		unrelated := []client.Object{
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNS, Name: "settings", Labels: labels}, Data: map[string]string{"k": "v"}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNS, Name: "web", Labels: labels},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNS, Name: "web", Labels: labels}, Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}},
			}},
			// Next to a workload's children, in the same namespace.
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: "team-notes"}, Data: map[string]string{"k": "v"}},
		}
		for _, o := range unrelated {
			Expect(k8sClient.Create(ctx, o)).To(Succeed())
		}
		// Created after the child, so a cache that held them would have
		// them once it has seen a later event: wait for one.
		nudge(ctx, cacheNS, "cached-site")
		Eventually(func(g Gomega) {
			var mw v1alpha1.MarketingWorkload
			g.Expect(mgrCache.Get(ctx, types.NamespacedName{Namespace: cacheNS, Name: "cached-site"}, &mw)).To(Succeed())
			g.Expect(mw.Annotations).To(HaveKey("martech.guardrails.dev/reconcile-requested-at"))
		}).Should(Succeed())
		for _, o := range unrelated {
			key := client.ObjectKeyFromObject(o)
			Expect(k8sClient.Get(ctx, key, o.DeepCopyObject().(client.Object))).To(Succeed())
			Consistently(func() bool {
				return apierrors.IsNotFound(mgrCache.Get(ctx, key, metadataOf(o)))
			}).WithTimeout(time.Second).Should(BeTrue(), "%T %s is in the manager's cache", o, key)
		}

		// Namespaces are read as metadata: their labels, nothing else.
		ns := resolve.NamespaceMetadata()
		Expect(mgrCache.Get(ctx, types.NamespacedName{Name: cacheNS}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("kubernetes.io/metadata.name", cacheNS))
	})

	It("finds a child whose label was removed by hand and puts the label back", func() {
		Expect(k8sClient.Create(ctx, workload("relabelled-site", 1))).To(Succeed())
		Eventually(readyAt("relabelled-site")).WithTimeout(30 * time.Second).Should(Succeed())

		for _, child := range []client.Object{
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: "relabelled-site"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: "relabelled-site" + render.EgressConfigMapSuffix}},
		} {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(child), child)).To(Succeed())
			uid := child.GetUID()
			removeLabel(child)
			Eventually(func(g Gomega) {
				live := child.DeepCopyObject().(client.Object)
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(child), live)).To(Succeed())
				g.Expect(live.GetLabels()).To(HaveKeyWithValue(render.LabelManagedBy, render.FieldOwner))
				g.Expect(live.GetUID()).To(Equal(uid), "updated in place, not recreated")
			}).WithTimeout(20*time.Second).Should(Succeed(), "%T %s", child, child.GetName())
			Eventually(inCache(child.DeepCopyObject().(client.Object))).Should(Succeed(), "back in the cache")
		}
	})

	It("deletes a child it no longer renders even when its label was removed", func() {
		Expect(k8sClient.Create(ctx, workload("shrinking-site", 2))).To(Succeed())
		Eventually(readyAt("shrinking-site")).WithTimeout(30 * time.Second).Should(Succeed())
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: cacheNS, Name: "shrinking-site"}}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pdb), pdb)).To(Succeed())

		// Blocked (an image from a registry the standard does not allow):
		// nothing is applied, so the label stays off and the cache loses
		// the PDB.
		setSpec := func(image string, replicas int32) {
			mw := getMW(ctx, cacheNS, "shrinking-site")(Default)
			patch := client.MergeFrom(mw.DeepCopy())
			mw.Spec.Image, mw.Spec.Replicas = image, ptr.To(replicas)
			Expect(k8sClient.Patch(ctx, mw, patch)).To(Succeed())
		}
		setSpec("docker.io/library/nginx:1.27", 2)
		Eventually(phaseOf(ctx, cacheNS, "shrinking-site")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseBlocked))
		removeLabel(pdb)
		Eventually(func() bool {
			return apierrors.IsNotFound(mgrCache.Get(ctx, client.ObjectKeyFromObject(pdb), metadataOf(pdb)))
		}).WithTimeout(10 * time.Second).Should(BeTrue())

		// Allowed again at one replica: the PDB is no longer rendered; the
		// status lists it, so it is read past the cache and deleted.
		setSpec("ghcr.io/acme-marketing/cache-site:1.0.0", 1)
		Eventually(readyAt("shrinking-site")).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(pdb), &policyv1.PodDisruptionBudget{}))
		}).WithTimeout(20 * time.Second).Should(BeTrue())
	})

	It("counts guardrails_workloads{phase} from the cache at scrape time", func() {
		reg := prometheus.NewPedanticRegistry()
		controllers.NewMetrics(reg, mgrCache)
		Eventually(func(g Gomega) {
			var list v1alpha1.MarketingWorkloadList
			g.Expect(k8sClient.List(ctx, &list)).To(Succeed())
			want := map[string]float64{"Scheduled": 0, "Active": 0, "Ended": 0, "Archived": 0, "Blocked": 0}
			for _, mw := range list.Items {
				if mw.Status.Phase != "" {
					want[string(mw.Status.Phase)]++
				}
			}
			g.Expect(want["Active"]).To(BeNumerically(">=", 3))
			g.Expect(gauge(g, reg, "guardrails_workloads", "phase")).To(Equal(want))

			var sis v1alpha1.SaaSIntegrationList
			g.Expect(k8sClient.List(ctx, &sis)).To(Succeed())
			wantSI := map[string]float64{"approved": 0, "restricted": 0, "prohibited": 0, "unknown": 0}
			for _, si := range sis.Items {
				if si.Status.VendorStatus != "" {
					wantSI[si.Status.VendorStatus]++
				}
			}
			g.Expect(gauge(g, reg, "guardrails_integrations", "vendor_status")).To(Equal(wantSI))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})
})

// metadataOf is an empty PartialObjectMetadata of obj's kind, name and
// namespace.
func metadataOf(obj client.Object) *metav1.PartialObjectMetadata {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	Expect(err).NotTo(HaveOccurred())
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
	m.SetGroupVersionKind(gvk)
	return m
}

// gauge gathers reg and returns the values of family name by label.
func gauge(g Gomega, reg *prometheus.Registry, name, label string) map[string]float64 {
	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}
