package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// kstatusNS holds the workloads these specs make, away from the samples'
// namespace so the other specs' counts (usedBy, phases) are unaffected.
const kstatusNS = "kstatus-checks"

// The status the controllers write must read right to kstatus, the library
// Flux, kpt and Config Sync use to decide whether an applied object is done.
// Each spec stands alone: no spec order, and the fake clock is never moved
// here (the samples stay Active up to the Ordered container's last setting).
//
// A brand-new object reads InProgress too: every CRD defaults
// status.observedGeneration to 0, below the object's generation, until the
// controller writes (gitops_health_test.go checks the create's response).
var _ = Describe("kstatus on what the controllers write", func() {
	ctx := context.Background()

	BeforeEach(func() {
		applySamples(ctx)
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kstatusNS}}
		if err := k8sClient.Create(ctx, namespace); !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	It("says Current for a Ready, Active sample workload", func() {
		Eventually(func(g Gomega) {
			u := getU(ctx, g, v1alpha1.KindMarketingWorkload, ns, "winter-sale-microsite")
			g.Expect(phaseU(u)).To(Equal(string(v1alpha1.PhaseActive)))
			g.Expect(kstatusOf(g, u).Status).To(Equal(status.CurrentStatus))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("says InProgress right after a spec change, then Current once the controller has observed it", func() {
		mw := kstatusWorkload("kstatus-progress", "ghcr.io/acme-marketing/kstatus-site:1.0.0")
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, mw))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(kstatusOf(g, readyU(ctx, g, mw.Name)).Status).To(Equal(status.CurrentStatus))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		// The object the patch returns is what the API server stored for
		// this write: generation bumped, status (a subresource) untouched.
		// The controller can only write after it, so this read cannot race.
		u := getU(ctx, Default, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name)
		patch := client.MergeFrom(u.DeepCopy())
		replicas, _, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
		Expect(err).NotTo(HaveOccurred())
		Expect(unstructured.SetNestedField(u.Object, replicas%2+1, "spec", "replicas")).To(Succeed())
		Expect(k8sClient.Patch(ctx, u, patch)).To(Succeed())
		Expect(u.GetGeneration()).To(BeNumerically(">", observedGeneration(u)))

		res := kstatusOf(Default, u)
		Expect(res.Status).To(Equal(status.InProgressStatus))
		Expect(res.Message).To(ContainSubstring("latest observed generation"))

		Eventually(func(g Gomega) {
			got := getU(ctx, g, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name)
			g.Expect(observedGeneration(got)).To(Equal(got.GetGeneration()))
			g.Expect(kstatusOf(g, got).Status).To(Equal(status.CurrentStatus))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("says Failed for a workload Blocked by policy (Ready=False, Stalled=True)", func() {
		mw := kstatusWorkload("kstatus-blocked", "docker.io/library/nginx:1.27.0")
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, mw))).To(Succeed())
		Eventually(func(g Gomega) {
			u := getU(ctx, g, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name)
			g.Expect(phaseU(u)).To(Equal(string(v1alpha1.PhaseBlocked)))
			g.Expect(observedGeneration(u)).To(Equal(u.GetGeneration()))
			res := kstatusOf(g, u)
			g.Expect(res.Status).To(Equal(status.FailedStatus))
			g.Expect(res.Message).To(ContainSubstring("allowed-registries"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("says Current for a Ready SaaSIntegration and an Active PolicyException", func() {
		for _, o := range []struct{ kind, name string }{
			{v1alpha1.KindSaaSIntegration, "web-analytics"},
			{v1alpha1.KindPolicyException, "retargeting-pilot-q4"},
		} {
			Eventually(func(g Gomega) {
				u := getU(ctx, g, o.kind, ns, o.name)
				g.Expect(conditionStatus(u, v1alpha1.ConditionReady)).To(Equal(string(metav1.ConditionTrue)))
				g.Expect(kstatusOf(g, u).Status).To(Equal(status.CurrentStatus))
			}).WithTimeout(30*time.Second).Should(Succeed(), "%s %s", o.kind, o.name)
		}
	})
})

// kstatusWorkload is a minimal valid workload in kstatusNS with one replica
// and no integrations.
func kstatusWorkload(name, image string) *v1alpha1.MarketingWorkload {
	return &v1alpha1.MarketingWorkload{
		ObjectMeta: metav1.ObjectMeta{Namespace: kstatusNS, Name: name},
		Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
			CostCenter: "MKT-4300",
			Image:      image,
			Replicas:   ptr.To[int32](1),
		},
	}
}

// getU reads an object of our API group as unstructured, the form kstatus
// (and every generic tool) reads.
func getU(ctx context.Context, g Gomega, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)).To(Succeed())
	return u
}

// readyU reads a workload of kstatusNS and fails g unless it is Ready.
func readyU(ctx context.Context, g Gomega, name string) *unstructured.Unstructured {
	u := getU(ctx, g, v1alpha1.KindMarketingWorkload, kstatusNS, name)
	g.Expect(conditionStatus(u, v1alpha1.ConditionReady)).To(Equal(string(metav1.ConditionTrue)))
	return u
}

func kstatusOf(g Gomega, u *unstructured.Unstructured) *status.Result {
	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return res
}

func phaseU(u *unstructured.Unstructured) string {
	p, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return p
}

func observedGeneration(u *unstructured.Unstructured) int64 {
	og, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	return og
}

func conditionStatus(u *unstructured.Unstructured, condType string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == condType {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}
