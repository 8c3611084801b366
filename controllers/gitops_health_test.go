package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/gitops"
)

// The Argo CD health check (internal/gitops/health.lua) on what the
// controllers really write, for every kind. With GITOPS_FIXTURES=1 each
// object judged is also written to internal/gitops/testdata, the fixtures
// the gitops package's own tests run the check on.
var _ = Describe("Argo CD health and kstatus of what the controllers write", func() {
	ctx := context.Background()

	BeforeEach(func() {
		applySamples(ctx)
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kstatusNS}}
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, namespace))).To(Succeed())
	})

	It("reads a brand-new object as Progressing to Argo CD and InProgress to kstatus: the object the create returns", func() {
		mw := kstatusWorkload("gitops-brand-new", "ghcr.io/acme-marketing/gitops-site:1.0.0")
		u := &unstructured.Unstructured{}
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(mw)
		Expect(err).NotTo(HaveOccurred())
		u.Object = obj
		u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(v1alpha1.KindMarketingWorkload))
		unstructured.RemoveNestedField(u.Object, "status")
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		// What the API server stored and returned: no controller has
		// written to it, and the CRD's status default says so.
		Expect(u.Object).To(HaveKeyWithValue("status", HaveKeyWithValue("observedGeneration", BeNumerically("==", 0))))
		res := kstatusOf(Default, u)
		Expect(res.Status).To(Equal(status.InProgressStatus), res.Message)
		h := argoHealth(u, gitops.Progressing)
		Expect(h.Message).To(ContainSubstring("observe generation 1"))

		Eventually(func(g Gomega) {
			got := getU(ctx, g, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name)
			g.Expect(kstatusOf(g, got).Status).To(Equal(status.CurrentStatus))
			g.Expect(healthOf(g, got).Status).To(Equal(gitops.Healthy))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("reads every sample kind Healthy once Ready for its generation", func() {
		for _, o := range []struct{ kind, namespace, name string }{
			{v1alpha1.KindMarketingWorkload, ns, "winter-sale-microsite"},
			{v1alpha1.KindSaaSIntegration, ns, "web-analytics"},
			{v1alpha1.KindPolicyException, ns, "retargeting-pilot-q4"},
			{v1alpha1.KindVendor, "", "hubspot"},
			{v1alpha1.KindPlatformStandard, "", "default"},
			{v1alpha1.KindGuardrailPolicy, "", "pinned-image-tags"},
		} {
			Eventually(func(g Gomega) {
				u := getU(ctx, g, o.kind, o.namespace, o.name)
				g.Expect(healthOf(g, u).Status).To(Equal(gitops.Healthy))
			}).WithTimeout(30*time.Second).Should(Succeed(), "%s %s", o.kind, o.name)
			argoHealth(getU(ctx, Default, o.kind, o.namespace, o.name), gitops.Healthy)
		}
	})

	It("reads a workload Blocked by policy as Degraded, with the policy in the message", func() {
		mw := kstatusWorkload("gitops-blocked", "docker.io/library/nginx:1.27.0")
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, mw))).To(Succeed())
		Eventually(func(g Gomega) {
			u := getU(ctx, g, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name)
			g.Expect(phaseU(u)).To(Equal(string(v1alpha1.PhaseBlocked)))
			g.Expect(healthOf(g, u).Status).To(Equal(gitops.Degraded))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		h := argoHealth(getU(ctx, Default, v1alpha1.KindMarketingWorkload, kstatusNS, mw.Name), gitops.Degraded)
		Expect(h.Message).To(ContainSubstring("allowed-registries"))
	})
})

func healthOf(g Gomega, u *unstructured.Unstructured) gitops.Health {
	h, err := gitops.ArgoHealth(u.Object)
	g.Expect(err).NotTo(HaveOccurred())
	return h
}

// argoHealth runs the check on u, expects want, and with GITOPS_FIXTURES
// set keeps u as a fixture named after the result.
func argoHealth(u *unstructured.Unstructured, want string) gitops.Health {
	GinkgoHelper()
	h := healthOf(Default, u)
	Expect(h.Status).To(Equal(want), h.Message)
	if os.Getenv("GITOPS_FIXTURES") != "" {
		metadata := map[string]any{"name": u.GetName(), "generation": u.GetGeneration()}
		if u.GetNamespace() != "" {
			metadata["namespace"] = u.GetNamespace()
		}
		fixture := map[string]any{
			"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(),
			"metadata": metadata,
			"status":   u.Object["status"],
		}
		b, err := yaml.Marshal(fixture)
		Expect(err).NotTo(HaveOccurred())
		name := fmt.Sprintf("%s-%s-%s.yaml", strings.ToLower(want), strings.ToLower(u.GetKind()), u.GetName())
		Expect(os.WriteFile(filepath.Join("..", "internal", "gitops", "testdata", name), append([]byte("# Captured from the controllers' envtest run (GITOPS_FIXTURES=1).\n"), b...), 0o600)).To(Succeed())
	}
	return h
}
