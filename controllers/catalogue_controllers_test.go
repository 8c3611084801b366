package controllers_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
)

var _ = Describe("standards and vendors judged by the engine's own checks", func() {
	ctx := context.Background()

	It("says UnknownPolicy for a standard naming a policy that does not exist, with the warning in status", func() {
		std := &v1alpha1.PlatformStandard{
			ObjectMeta: metav1.ObjectMeta{Name: "typo-names"},
			Spec: v1alpha1.PlatformStandardSpec{
				Policies: v1alpha1.PolicySettings{Disabled: []string{"alowed-registries"}},
			},
		}
		Expect(k8sClient.Create(ctx, std)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, std))).To(Succeed()) })
		Eventually(func(g Gomega) {
			var got v1alpha1.PlatformStandard
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(std), &got)).To(Succeed())
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(controllers.ReasonUnknownPolicy))
			g.Expect(ready.Message).To(ContainSubstring("alowed-registries"))
			g.Expect(got.Status.Violations).To(ConsistOf(And(
				HaveField("Policy", "policy-names"),
				HaveField("Enforcement", "warn"),
				HaveField("Field", "spec.policies.disabled[0]"),
				HaveField("Message", ContainSubstring("did you mean allowed-registries?")),
			)))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})

	It("judges a standard again once the GuardrailPolicy it names is loaded", func() {
		std := &v1alpha1.PlatformStandard{
			ObjectMeta: metav1.ObjectMeta{Name: "names-a-late-policy"},
			Spec:       v1alpha1.PlatformStandardSpec{Policies: v1alpha1.PolicySettings{Disabled: []string{"late-policy"}}},
		}
		Expect(k8sClient.Create(ctx, std)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, std))).To(Succeed()) })
		readyReason := func(g Gomega) string {
			var got v1alpha1.PlatformStandard
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(std), &got)).To(Succeed())
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			return ready.Reason
		}
		Eventually(readyReason).WithTimeout(20 * time.Second).Should(Equal(controllers.ReasonUnknownPolicy))
		gp := &v1alpha1.GuardrailPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "late-policy"},
			Spec: v1alpha1.GuardrailPolicySpec{
				Targets: []v1alpha1.TargetKind{v1alpha1.KindVendor}, Enforcement: v1alpha1.EnforcementWarn, Severity: v1alpha1.SeverityLow,
				Rego: "package acme.late\n\nviolation contains \"never\" if {\n\tinput.object.spec.displayName == \"no vendor is called this\"\n}\n",
			},
		}
		Expect(k8sClient.Create(ctx, gp)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, gp))).To(Succeed()) })
		Eventually(readyReason).WithTimeout(20 * time.Second).Should(Equal(controllers.ReasonValid))
	})

	It("records an unknown data category on a vendor as a taxonomy-keys deny", func() {
		v := &v1alpha1.Vendor{
			ObjectMeta: metav1.ObjectMeta{Name: "typo-vendor"},
			Spec: v1alpha1.VendorSpec{
				DisplayName: "Typo", Category: "email", Status: v1alpha1.VendorApproved,
				Domains:               []v1alpha1.FQDN{"typo.example"},
				AllowedDataCategories: []v1alpha1.TaxonomyKey{"user.contact.emial"},
			},
		}
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		Eventually(func(g Gomega) {
			var got v1alpha1.Vendor
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(v), &got)).To(Succeed())
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(controllers.ReasonPolicyDenied))
			g.Expect(got.Status.Violations).To(ConsistOf(And(
				HaveField("Policy", "taxonomy-keys"),
				HaveField("Enforcement", "deny"),
				HaveField("Field", "spec.allowedDataCategories[0]"),
			)))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})
})
