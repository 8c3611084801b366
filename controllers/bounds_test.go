package controllers_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// loudPolicy denies every workload in namespaces labelled loud=true with a
// message of n bytes.
func loudPolicy(name string, n int) *v1alpha1.GuardrailPolicy {
	return &v1alpha1.GuardrailPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.GuardrailPolicySpec{
			Targets:           []v1alpha1.TargetKind{v1alpha1.KindMarketingWorkload},
			Enforcement:       v1alpha1.EnforcementDeny,
			Severity:          v1alpha1.SeverityLow,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"loud": "true"}},
			Rego: fmt.Sprintf("package acme.%s\n\nviolation contains {\"msg\": sprintf(\"%%0%dd\", [0]), \"field\": \"spec.image\", \"remediation\": sprintf(\"%%0%dd\", [1])}\n",
				name[:4], n, n),
		},
	}
}

var _ = Describe("bounded status", func() {
	ctx := context.Background()

	It("writes the status of a workload whose policies say 100 KB and 10 MB, with the text cut and the count kept", func() {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "loud-campaigns", Labels: map[string]string{"loud": "true"}}}
		Expect(k8sClient.Create(ctx, nsObj)).To(Succeed())
		for _, gp := range []*v1alpha1.GuardrailPolicy{loudPolicy("kilo-loud", 100_000), loudPolicy("mega-loud", 10_000_000)} {
			Expect(k8sClient.Create(ctx, gp)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, gp))).To(Succeed()) })
		}
		mw := &v1alpha1.MarketingWorkload{
			ObjectMeta: metav1.ObjectMeta{Name: "shouty", Namespace: nsObj.Name},
			Spec: v1alpha1.MarketingWorkloadSpec{
				Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
				CostCenter: "MKT-4100",
				Image:      "ghcr.io/acme-marketing/site:1.0.0",
			},
		}
		Expect(k8sClient.Create(ctx, mw)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getMW(ctx, nsObj.Name, mw.Name)(g)
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseBlocked))
			g.Expect(policiesOf(got.Status.Violations)).To(ContainElements("kilo-loud", "mega-loud"))
			g.Expect(got.Status.ViolationCount).To(BeNumerically(">=", 2))
			for _, v := range got.Status.Violations {
				g.Expect(len(v.Message)).To(BeNumerically("<=", 1024), v.Policy)
				g.Expect(len(v.Remediation)).To(BeNumerically("<=", 1024), v.Policy)
				if v.Policy == "mega-loud" {
					g.Expect(v.Message).To(HaveSuffix(fmt.Sprintf("… (%d more bytes)", 10_000_000-1024)))
				}
			}
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(len(ready.Message)).To(BeNumerically("<=", 1024))
			g.Expect(ready.Message).To(ContainSubstring("kilo-loud: 0000"))
		}).WithTimeout(60 * time.Second).Should(Succeed())
	})
})
