package webhook_test

import (
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// inventoryNS is the only namespace the data.inventory constraint matches.
const inventoryNS = "inventory-demo"

var _ = Describe("Gatekeeper's templates read data.inventory from the manager's cache", Ordered, func() {
	gk := &gatekeeperCase{
		name:          "k8suniformlabel",
		templateKey:   "ConstraintTemplate/k8suniformlabel",
		constraintKey: "K8sUniformLabel/one-cost-center-per-namespace",
		namespace:     inventoryNS,
		workloads:     []string{"north-promo", "south-promo", "east-promo"},
	}
	workloadFile := func(name, cost string) string {
		GinkgoHelper()
		return gatekeeperWorkloadFile(name, inventoryNS, cost)
	}
	conflict := func(name, cost, other, theirs string) string {
		return `Deployment ` + name + ` has martech.guardrails.dev/cost-center="` + cost + `" but Deployment ` + other +
			` in namespace ` + inventoryNS + ` has "` + theirs + `": one value per namespace`
	}

	BeforeAll(func() {
		createManagedNamespace(inventoryNS)
		gk.installCRDs()
		Expect(e.engine.ReadsInventory()).To(BeFalse(), "no constraint in force reads data.inventory yet")
		gk.create()
		Expect(e.engine.ReadsInventory()).To(BeTrue())
	})

	It("admits a workload while no other workload has a child in the namespace, and provisions it", func() {
		out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("south-promo", "MKT-4200"))
		Expect(err).NotTo(HaveOccurred(), "nothing in the namespace yet: %s", out)
		out, err = kubectl("apply", "-f", workloadFile("north-promo", "MKT-4100"))
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Eventually(func(g Gomega) {
			var dep appsv1.Deployment
			g.Expect(e.client.Get(ctx, types.NamespacedName{Namespace: inventoryNS, Name: "north-promo"}, &dep)).To(Succeed())
			g.Expect(dep.Labels).To(HaveKeyWithValue(render.LabelCostCenter, "MKT-4100"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("denies a workload whose Deployment disagrees with the other workload's Deployment in the cache, with the constraint's message", func() {
		// The manager's cache sees the new Deployment a moment after the
		// API server has it.
		Eventually(func(g Gomega) {
			out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("south-promo", "MKT-4200"))
			g.Expect(err).To(HaveOccurred(), "%s", out)
			g.Expect(string(out)).To(ContainSubstring("denied the request"))
			g.Expect(string(out)).To(ContainSubstring(conflict("south-promo", "MKT-4200", "north-promo", "MKT-4100")))
			g.Expect(string(out)).To(ContainSubstring("one-cost-center-per-namespace (Deployment/south-promo)"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		var mw v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, types.NamespacedName{Namespace: inventoryNS, Name: "south-promo"}, &mw)).NotTo(Succeed(), "nothing stored")

		out, err := kubectl("apply", "-f", workloadFile("east-promo", "MKT-4100"))
		Expect(err).NotTo(HaveOccurred(), "the same cost centre is admitted: %s", out)
	})

	It("blocks at reconcile a workload the webhook did not judge, with the same message", func() {
		// The operator's own identity is exempt from the webhooks: the
		// reconciler is the door that judges this one, with the same
		// inventory from the same cache.
		mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: inventoryNS, Name: "south-promo"}, Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
			CostCenter: "MKT-4200", Image: "ghcr.io/acme-marketing/landing-page:2.0.1",
		}}
		Expect(e.managerClient.Create(ctx, mw)).To(Succeed())
		Eventually(func(g Gomega) {
			var got v1alpha1.MarketingWorkload
			g.Expect(e.client.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseBlocked))
			g.Expect(violationMessages(&got)).To(ContainElement(ContainSubstring(conflict("south-promo", "MKT-4200", "north-promo", "MKT-4100"))))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		var dep appsv1.Deployment
		Expect(e.client.Get(ctx, client.ObjectKeyFromObject(mw), &dep)).NotTo(Succeed(), "a blocked workload gets no children")
	})

	It("does not judge a workload against its own children: changing the only cost centre of the namespace is admitted", func() {
		Expect(e.client.Delete(ctx, &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: inventoryNS, Name: "east-promo"}})).To(Succeed())
		// No garbage collector runs in envtest: the deleted workload's
		// Deployment stays, as it would until the collector removes it.
		// Remove it by hand (again, should a last reconcile re-apply it)
		// until the cache forgets it.
		Eventually(func() error {
			if err := client.IgnoreNotFound(e.client.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: inventoryNS, Name: "east-promo"}})); err != nil {
				return err
			}
			out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("north-promo", "MKT-4300"))
			if err != nil {
				return errors.New(string(out))
			}
			return nil
		}).WithTimeout(30*time.Second).Should(Succeed(), "north-promo's own Deployment (MKT-4100) is not in its inventory")
	})

	It("admits again once the constraint is removed: no constraint reads data.inventory", func() {
		Expect(e.client.Delete(ctx, gk.constraint)).To(Succeed())
		gatekeeperLoaded(gk.constraintKey, 0)
		Expect(e.engine.ReadsInventory()).To(BeFalse())
		out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("south-promo", "MKT-4200"))
		Expect(err).NotTo(HaveOccurred(), "%s", out)
	})
})
