package webhook_test

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// inventoryNS is the only namespace the data.inventory constraint matches.
const inventoryNS = "inventory-demo"

// inventoryWorkload is gatekeeperWorkload with a cost centre of its own.
const inventoryWorkload = `apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: NAME
  namespace: NAMESPACE
spec:
  owner:
    team: growth
    contact: growth-team@acme.example
  costCenter: COST
  image: ghcr.io/acme-marketing/landing-page:2.0.1
`

var _ = Describe("Gatekeeper's templates read data.inventory from the manager's cache", Ordered, func() {
	var (
		template, constraint *unstructured.Unstructured
		constraintKey        = "K8sUniformLabel/one-cost-center-per-namespace"
		templateKey          = "ConstraintTemplate/k8suniformlabel"
	)
	gatekeeperFile := func(name string) string { return repoPath("test", "gatekeeper", name) }
	workloadFile := func(name, cost string) string {
		GinkgoHelper()
		f := filepath.Join(GinkgoT().TempDir(), name+".yaml")
		doc := strings.NewReplacer("NAMESPACE", inventoryNS, "NAME", name, "COST", cost).Replace(inventoryWorkload)
		Expect(os.WriteFile(f, []byte(doc), 0o600)).To(Succeed())
		return f
	}
	loaded := func(key string, gen int64) {
		GinkgoHelper()
		Eventually(func() int64 { return e.policies.Gatekeeper().Generations[key] }).
			WithTimeout(30*time.Second).Should(Equal(gen), "the loader gave the engine %s generation %d", key, gen)
	}
	conflict := func(name, cost, other, theirs string) string {
		return `Deployment ` + name + ` has martech.guardrails.dev/cost-center="` + cost + `" but Deployment ` + other +
			` in namespace ` + inventoryNS + ` has "` + theirs + `": one value per namespace`
	}

	BeforeAll(func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: inventoryNS, Labels: map[string]string{
			"martech.guardrails.dev/managed": "true", "martech.guardrails.dev/team": "growth",
		}}}
		Expect(client.IgnoreAlreadyExists(e.client.Create(ctx, ns))).To(Succeed())
		_, err := envtest.InstallCRDs(e.cfg, envtest.CRDInstallOptions{Paths: []string{
			gatekeeperFile("constrainttemplate-customresourcedefinition.yaml"),
			gatekeeperFile("k8suniformlabel-constraint-crd.yaml"),
		}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(e.engine.ReadsInventory()).To(BeFalse(), "no constraint in force reads data.inventory yet")
		template = readObject(gatekeeperFile("k8suniformlabel-template.yaml"))
		constraint = readObject(gatekeeperFile("k8suniformlabel-constraint.yaml"))
		Expect(e.client.Create(ctx, template)).To(Succeed())
		Expect(e.client.Create(ctx, constraint)).To(Succeed())
		loaded(templateKey, template.GetGeneration())
		loaded(constraintKey, constraint.GetGeneration())
		Expect(e.policies.Gatekeeper().Report.Errors).To(BeEmpty())
		Expect(e.engine.ReadsInventory()).To(BeTrue())
		DeferCleanup(func() {
			for _, name := range []string{"north-promo", "south-promo", "east-promo"} {
				mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: inventoryNS, Name: name}}
				Expect(client.IgnoreNotFound(e.client.Delete(ctx, mw))).To(Succeed())
			}
			Expect(client.IgnoreNotFound(e.client.Delete(ctx, constraint))).To(Succeed())
			Expect(client.IgnoreNotFound(e.client.Delete(ctx, template))).To(Succeed())
			loaded(templateKey, 0)
		})
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
			var messages []string
			for _, v := range got.Status.Violations {
				messages = append(messages, v.Message)
			}
			g.Expect(messages).To(ContainElement(ContainSubstring(conflict("south-promo", "MKT-4200", "north-promo", "MKT-4100"))))
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
				return &dryRunError{out}
			}
			return nil
		}).WithTimeout(30*time.Second).Should(Succeed(), "north-promo's own Deployment (MKT-4100) is not in its inventory")
	})

	It("admits again once the constraint is removed: no constraint reads data.inventory", func() {
		Expect(e.client.Delete(ctx, constraint)).To(Succeed())
		loaded(constraintKey, 0)
		Expect(e.engine.ReadsInventory()).To(BeFalse())
		out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("south-promo", "MKT-4200"))
		Expect(err).NotTo(HaveOccurred(), "%s", out)
	})
})

type dryRunError struct{ out []byte }

func (d *dryRunError) Error() string { return string(d.out) }
