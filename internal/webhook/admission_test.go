package webhook_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
	"github.com/martech-guardrails/guardrails/internal/webhook"
)

// appliedFile is a MarketingWorkload as a GitOps repository holds it: no
// resources, replicas, port or labels, so that any default written into the
// stored object would show.
const appliedFile = `apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: gitops-tags
  namespace: growth-marketing
spec:
  owner:
    team: growth
    contact: growth-team@acme.example
  costCenter: MKT-4100
  image: ghcr.io/acme-marketing/landing-page:2.0.1
`

// kubectl runs the project's kubectl (next to the envtest binaries) as a
// second envtest admin, with its own kubeconfig.
func kubectl(args ...string) ([]byte, error) {
	GinkgoHelper()
	assets, err := assetsDir()
	Expect(err).NotTo(HaveOccurred())
	user, err := e.testEnv.AddUser(envtest.User{Name: "gitops", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
	cmd := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", path}, args...)...)
	cmd.Env = []string{"HOME=" + GinkgoT().TempDir()} // no PATH: the project's kubectl only
	return cmd.CombinedOutput()
}

var _ = Describe("No mutation: the standard's defaults at render time", func() {
	It("stores what `kubectl apply --server-side` sent, shows the effective values in status and renders the Deployment with them", func() {
		file := filepath.Join(GinkgoT().TempDir(), "workload.yaml")
		Expect(os.WriteFile(file, []byte(appliedFile), 0o600)).To(Succeed())
		out, err := kubectl("apply", "--server-side", "-f", file)
		Expect(err).NotTo(HaveOccurred(), "%s", out)

		out, err = kubectl("get", "mw", "gitops-tags", "-n", managedNS, "-o", "json")
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		var stored, sent map[string]any
		Expect(json.Unmarshal(out, &stored)).To(Succeed())
		Expect(yaml.Unmarshal([]byte(appliedFile), &sent)).To(Succeed())
		Expect(stored["spec"]).To(Equal(sent["spec"]), "spec as in the file")
		Expect(stored["metadata"]).NotTo(HaveKey("labels"), "no derived labels written")

		key := types.NamespacedName{Namespace: managedNS, Name: "gitops-tags"}
		defaults := corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		}
		Eventually(func(g Gomega) {
			var mw v1alpha1.MarketingWorkload
			g.Expect(e.client.Get(ctx, key, &mw)).To(Succeed())
			g.Expect(mw.Status.Effective).NotTo(BeNil())
			g.Expect(mw.Status.Effective.Resources).To(HaveValue(BeComparableTo(defaults)))
			g.Expect(mw.Status.Effective.Replicas).To(HaveValue(BeEquivalentTo(1)))
			g.Expect(mw.Status.Effective.Labels).To(HaveKeyWithValue(render.LabelTeam, "growth"))
			g.Expect(mw.Status.Effective.Labels).To(HaveKeyWithValue(render.LabelCostCenter, "MKT-4100"))
			var dep appsv1.Deployment
			g.Expect(e.client.Get(ctx, key, &dep)).To(Succeed())
			g.Expect(dep.Spec.Template.Spec.Containers[0].Resources).To(BeComparableTo(defaults))
			g.Expect(dep.Labels).To(HaveKeyWithValue(render.LabelCostCenter, "MKT-4100"))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		out, err = kubectl("get", "mw", "gitops-tags", "-n", managedNS, "-o", "wide")
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Expect(string(out)).To(MatchRegexp(`CPU\s+MEMORY\s+REPLICAS`))
		Expect(string(out)).To(MatchRegexp(`gitops-tags\s.*\s500m\s+256Mi\s+1\s`))
	})

	It("brings a change of the standard's default resources to an existing workload's Deployment", func() {
		mw := workload("follows-the-standard")
		mw.Spec.Replicas = nil
		Expect(e.client.Create(ctx, mw)).To(Succeed())
		key := client.ObjectKeyFromObject(mw)
		cpuLimit := func(g Gomega) string {
			var dep appsv1.Deployment
			g.Expect(e.client.Get(ctx, key, &dep)).To(Succeed())
			return dep.Spec.Template.Spec.Containers[0].Resources.Limits.Cpu().String()
		}
		Eventually(cpuLimit).WithTimeout(30 * time.Second).Should(Equal("500m"))

		var std v1alpha1.PlatformStandard
		Expect(e.client.Get(ctx, client.ObjectKey{Name: "default"}, &std)).To(Succeed())
		before := std.DeepCopy()
		DeferCleanup(func() {
			var now v1alpha1.PlatformStandard
			Expect(e.client.Get(ctx, client.ObjectKey{Name: "default"}, &now)).To(Succeed())
			now.Spec = before.Spec
			Expect(e.client.Update(ctx, &now)).To(Succeed())
		})
		std.Spec.WorkloadDefaults.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("750m")
		Expect(e.client.Update(ctx, &std)).To(Succeed())

		Eventually(cpuLimit).WithTimeout(30*time.Second).Should(Equal("750m"), "the Deployment follows the standard")
		Eventually(func(g Gomega) string {
			var got v1alpha1.MarketingWorkload
			g.Expect(e.client.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Spec.Resources).To(BeNil(), "the spec is never written")
			g.Expect(got.Status.Effective).NotTo(BeNil())
			return got.Status.Effective.Resources.Limits.Cpu().String()
		}).WithTimeout(30 * time.Second).Should(Equal("750m"))
	})
})

// workloadHandlerRequests is how many requests the MarketingWorkload
// validating handler has served, from controller-runtime's webhook metrics.
func workloadHandlerRequests() float64 {
	GinkgoHelper()
	families, err := crmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == webhook.PathValidatePrefix+"marketingworkload" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

var _ = Describe("matchConditions", func() {
	It("keep the operator's writes and updates that change neither spec nor labels off the webhook", func() {
		calls := func(do func()) float64 {
			GinkgoHelper()
			before := workloadHandlerRequests()
			do()
			return workloadHandlerRequests() - before
		}
		mw := workload("match-conditions")
		Expect(calls(func() { Expect(e.client.Create(ctx, mw)).To(Succeed()) })).To(BeEquivalentTo(1), "a user's create is judged")

		annotate := []byte(`{"metadata":{"annotations":{"note":"x"}}}`)
		Expect(calls(func() {
			Expect(e.client.Patch(ctx, mw, client.RawPatch(types.MergePatchType, annotate))).To(Succeed())
		})).To(BeZero(), "an annotation change never reaches the handler")

		label := []byte(`{"metadata":{"labels":{"tier":"gold"}}}`)
		Expect(calls(func() {
			Expect(e.client.Patch(ctx, mw, client.RawPatch(types.MergePatchType, label))).To(Succeed())
		})).To(BeEquivalentTo(1), "a label change is judged")

		image := []byte(`{"spec":{"image":"ghcr.io/acme-marketing/landing-page:2.0.2"}}`)
		Expect(calls(func() {
			Expect(e.client.Patch(ctx, mw, client.RawPatch(types.MergePatchType, image))).To(Succeed())
		})).To(BeEquivalentTo(1), "a spec change is judged")

		own := workload("operator-own")
		Expect(calls(func() {
			Expect(e.managerClient.Create(ctx, own)).To(Succeed())
			Expect(e.managerClient.Patch(ctx, own, client.RawPatch(types.MergePatchType, image))).To(Succeed())
			Expect(e.managerClient.Patch(ctx, own, client.RawPatch(types.MergePatchType, label))).To(Succeed())
		})).To(BeZero(), "the operator's own writes never reach the handler")

		// The operator's status writes go to the status subresource, which
		// no rule matches; its reconciles of these workloads cost no call.
		Consistently(workloadHandlerRequests).WithTimeout(2 * time.Second).Should(Equal(workloadHandlerRequests()))
	})
})

var _ = Describe("the generated webhook configuration", func() {
	It("names the operator's service account of config/default in every webhook's matchConditions", func() {
		var kust struct {
			Namespace  string `json:"namespace"`
			NamePrefix string `json:"namePrefix"`
		}
		var sa corev1.ServiceAccount
		for path, into := range map[string]any{
			repoPath("config", "default", "kustomization.yaml"): &kust,
			repoPath("config", "rbac", "service_account.yaml"):  &sa,
		} {
			data, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(yaml.Unmarshal(data, into)).To(Succeed(), path)
		}
		want := "system:serviceaccount:" + kust.Namespace + ":" + kust.NamePrefix + sa.Name
		Expect(want).To(Equal(managerUser), "the suites run the manager as the installed service account")

		objs, err := readManifests(repoPath("config", "webhook"))
		Expect(err).NotTo(HaveOccurred())
		var hooks int
		for _, o := range objs {
			if o.GetKind() != "ValidatingWebhookConfiguration" {
				continue
			}
			list, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			for i, h := range list {
				hooks++
				hook, ok := h.(map[string]any)
				Expect(ok).To(BeTrue(), "%s webhooks[%d] is an object", o.GetName(), i)
				conds, _, _ := unstructured.NestedSlice(hook, "matchConditions")
				Expect(conds).To(ContainElement(And(
					HaveKeyWithValue("name", "not-the-operator"),
					HaveKeyWithValue("expression", ContainSubstring("'"+want+"'")),
				)), "webhook %v", hook["name"])
			}
		}
		Expect(hooks).To(Equal(9), "six kinds and three guards, one configuration")
		for _, o := range objs {
			Expect(o.GetKind()).NotTo(Equal("MutatingWebhookConfiguration"), "no mutating webhook")
		}
	})
})
