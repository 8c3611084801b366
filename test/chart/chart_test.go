// Package chart_test checks the Helm chart charts/martech-guardrails (written
// by `make chart` from config/): helm lint passes, helm template renders the
// same kinds and names as the kustomize install (dist/install.yaml, and
// dist/install-certmanager.yaml with certManager.enabled), a real API server
// accepts both renders by server-side dry run, and the values reach the
// objects they tune. It runs Helm's own lint and install actions through its
// Go packages (helm_test.go), so `make test` needs no helm binary.
package chart_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/martech-guardrails/guardrails/internal/testenv"
)

const (
	namespace = "guardrails-system"
	release   = "guardrails"
)

var (
	testEnv *envtest.Environment
	c       client.Client
	scheme  = runtime.NewScheme()
	ctx     = context.Background()
)

func TestChart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Helm Chart Suite")
}

// The repository's paths and envtest's binaries, as every suite finds them.
var (
	repoPath = testenv.RepoPath
	assets   = testenv.Assets
)

func chartDir() string { return repoPath("charts", "martech-guardrails") }

// template renders the chart with the given --set values, as
// `helm template guardrails charts/martech-guardrails --namespace guardrails-system` does.
func template(set ...string) []*unstructured.Unstructured {
	GinkgoHelper()
	out, err := helmTemplate(set...)
	Expect(err).NotTo(HaveOccurred(), "helm template --set %v", set)
	return decode(bytes.NewBufferString(out))
}

// kustomize renders a config/ directory as make build-installer does.
func kustomize(dir string) []*unstructured.Unstructured {
	GinkgoHelper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(assets(), "kubectl"), "kustomize", repoPath(dir))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	Expect(cmd.Run()).To(Succeed(), "kubectl kustomize %s: %s", dir, stderr.String())
	return decode(&stdout)
}

func decode(r io.Reader) []*unstructured.Unstructured {
	GinkgoHelper()
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// names are "Kind namespace/name" of each object, sorted.
func names(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, u := range objs {
		out = append(out, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(out)
	return out
}

func without(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != kind {
			out = append(out, u)
		}
	}
	return out
}

func one[T any](objs []*unstructured.Unstructured, kind string) *T {
	GinkgoHelper()
	var found *T
	for _, u := range objs {
		if u.GetKind() != kind {
			continue
		}
		Expect(found).To(BeNil(), "more than one %s", kind)
		found = new(T)
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, found)).To(Succeed())
	}
	Expect(found).NotTo(BeNil(), "no %s", kind)
	return found
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	_, err := os.Stat(filepath.Join(assets(), "kube-apiserver"))
	Expect(err).NotTo(HaveOccurred(), "kube-apiserver not found in %s: run `make envtest-bins`", assets())
	_, err = os.Stat(repoPath("bin", "cert-manager-crds"))
	Expect(err).NotTo(HaveOccurred(), "cert-manager's CRDs not found in bin/cert-manager-crds: run `make cert-manager-crds`")

	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: assets(),
		// cert-manager's own CRDs, for the dry run of the cert-manager render.
		CRDDirectoryPaths:     []string{repoPath("bin", "cert-manager-crds")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	c, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

var _ = Describe("helm lint", func() {
	for _, set := range [][]string{nil, {"certManager.enabled=true"}, {"metrics.serviceMonitor.enabled=true", "namespace.create=true"}} {
		It("passes with --strict and "+describe(set), func() {
			summary, result, err := helmLint(chartDir(), set...)
			Expect(err).NotTo(HaveOccurred())
			Expect(result.TotalChartsLinted).To(Equal(1), lintReport(result))
			Expect(result.Errors).To(BeEmpty(), lintReport(result))
			Expect(summary).To(Equal("1 chart(s) linted, 0 chart(s) failed"))
		})
	}

	It("fails on a broken chart: lint reads what it is given", func() {
		broken := GinkgoT().TempDir()
		Expect(os.CopyFS(broken, os.DirFS(chartDir()))).To(Succeed())
		Expect(os.WriteFile(filepath.Join(broken, "templates", "broken.yaml"), []byte("{{ .Values.nope.deeper }}\n"), 0o600)).To(Succeed())
		summary, result, err := helmLint(broken)
		Expect(err).NotTo(HaveOccurred())
		Expect(result.Errors).NotTo(BeEmpty(), lintReport(result))
		Expect(summary).To(Equal("1 chart(s) linted, 1 chart(s) failed"))
	})
})

func describe(set []string) string {
	if len(set) == 0 {
		return "the default values"
	}
	return "--set " + set[0] + " ..."
}

var _ = Describe("helm template", Ordered, func() {
	BeforeAll(func() {
		ns := &corev1.Namespace{}
		ns.Name = namespace
		Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(Succeed())
	})

	It("renders the same kinds and names as dist/install.yaml (config/default)", func() {
		install := kustomize("config/default")
		Expect(names(template("namespace.create=true"))).To(Equal(names(install)))
		// By default Helm owns the namespace (--create-namespace).
		Expect(names(template())).To(Equal(names(without(install, "Namespace"))))
	})

	It("renders the same kinds and names as dist/install-certmanager.yaml with certManager.enabled", func() {
		Expect(names(template("certManager.enabled=true", "namespace.create=true"))).To(Equal(names(kustomize("config/certmanager"))))
	})

	It("renders the ServiceMonitor only when asked", func() {
		Expect(names(template())).NotTo(ContainElement(HavePrefix("ServiceMonitor ")))
		Expect(names(template("metrics.serviceMonitor.enabled=true"))).To(ContainElement("ServiceMonitor " + namespace + "/guardrails-controller-manager-metrics-monitor"))
	})

	for _, set := range [][]string{nil, {"certManager.enabled=true"}} {
		It("is accepted by the API server with "+describe(set)+": CRDs for real, the rest by server-side dry run", func() {
			objs := template(set...)
			var rest []*unstructured.Unstructured
			for _, u := range objs {
				if u.GetKind() != "CustomResourceDefinition" {
					rest = append(rest, u)
					continue
				}
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner("chart-test"), client.ForceOwnership)
				Expect(err).NotTo(HaveOccurred(), "CRD %s", u.GetName())
				Eventually(func() bool {
					var crd apiextensionsv1.CustomResourceDefinition
					if err := c.Get(ctx, client.ObjectKey{Name: u.GetName()}, &crd); err != nil {
						return false
					}
					for _, cond := range crd.Status.Conditions {
						if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
							return true
						}
					}
					return false
				}).WithTimeout(30*time.Second).Should(BeTrue(), "CRD %s established", u.GetName())
			}
			Expect(rest).NotTo(BeEmpty())
			for _, u := range rest {
				err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
					client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll)
				Expect(err).NotTo(HaveOccurred(), "%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
			}
		})
	}

	It("keeps the CRDs on uninstall and labels every object as Helm's", func() {
		for _, u := range template("commonLabels.team=platform") {
			Expect(u.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"), u.GetName())
			Expect(u.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/instance", release), u.GetName())
			Expect(u.GetLabels()).To(HaveKeyWithValue("team", "platform"), u.GetName())
			if u.GetKind() == "CustomResourceDefinition" {
				Expect(u.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"), u.GetName())
			}
		}
	})

	It("runs two replicas spread over nodes, with probes, limits and a restricted security context by default", func() {
		dep := one[appsv1.Deployment](template(), "Deployment")
		Expect(*dep.Spec.Replicas).To(Equal(int32(2)))
		pod := dep.Spec.Template.Spec
		Expect(pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
		ctr := pod.Containers[0]
		Expect(ctr.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(ctr.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(ctr.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(*ctr.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(*ctr.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
		Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(ctr.Args).To(ContainElements("--leader-elect", "--shutdown-drain=5s"))
		drain, err := time.ParseDuration("5s")
		Expect(err).NotTo(HaveOccurred())
		Expect(time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second).To(BeNumerically(">", drain))
		Expect(names(template())).To(ContainElement("PodDisruptionBudget " + namespace + "/guardrails-controller-manager"))
	})

	It("puts the values where they tune the install", func() {
		objs := template(
			"replicaCount=3", "image.repository=registry.example/guardrails", "image.tag=v9.9.9",
			"resources.limits.memory=1Gi", "nodeSelector.pool=system", "tolerations[0].key=dedicated",
			"tolerations[0].operator=Exists", "logLevel=debug", "shutdownDrain=8s", "extraArgs[0]=--credential-namespaces=growth",
			"webhooks.failurePolicy=Ignore", "webhooks.timeoutSeconds=10", "terminationGracePeriodSeconds=45",
			"podAnnotations.example\\.com/scrape=yes",
		)
		dep := one[appsv1.Deployment](objs, "Deployment")
		Expect(*dep.Spec.Replicas).To(Equal(int32(3)))
		pod := dep.Spec.Template.Spec
		ctr := pod.Containers[0]
		Expect(ctr.Image).To(Equal("registry.example/guardrails:v9.9.9"))
		Expect(ctr.Resources.Limits[corev1.ResourceMemory]).To(Equal(resource.MustParse("1Gi")))
		Expect(pod.NodeSelector).To(Equal(map[string]string{"pool": "system"}))
		Expect(pod.Tolerations).To(ConsistOf(HaveField("Key", "dedicated")))
		Expect(*pod.TerminationGracePeriodSeconds).To(Equal(int64(45)))
		Expect(dep.Spec.Template.Annotations).To(HaveKeyWithValue("example.com/scrape", "yes"))
		Expect(ctr.Args).To(ContainElements("--zap-log-level=debug", "--shutdown-drain=8s", "--credential-namespaces=growth"))
		Expect(ctr.Args).NotTo(ContainElement("--shutdown-drain=5s"))
		vwc := one[admissionregistrationv1.ValidatingWebhookConfiguration](objs, "ValidatingWebhookConfiguration")
		Expect(vwc.Webhooks).NotTo(BeEmpty())
		for _, w := range vwc.Webhooks {
			Expect(*w.FailurePolicy).To(Equal(admissionregistrationv1.Ignore), w.Name)
			Expect(*w.TimeoutSeconds).To(Equal(int32(10)), w.Name)
		}
	})

	It("pins the image by digest when image.digest is set (make image prints it), over the tag", func() {
		const digest = "sha256:4800bde5ee8b8574804289277cd7c1dbdad58c93cea8c65c5c0647189ae79c25"
		dep := one[appsv1.Deployment](template("image.repository=registry.example/guardrails", "image.tag=v9.9.9", "image.digest="+digest), "Deployment")
		Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/guardrails@" + digest))
		dep = one[appsv1.Deployment](template("image.digest="+digest, "certManager.enabled=true"), "Deployment")
		Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/martech-guardrails/guardrails@" + digest))
	})

	It("keeps each webhook's own failurePolicy and timeout from config/ by default", func() {
		want := map[string]admissionregistrationv1.ValidatingWebhook{}
		for _, w := range one[admissionregistrationv1.ValidatingWebhookConfiguration](kustomize("config/default"), "ValidatingWebhookConfiguration").Webhooks {
			want[w.Name] = w
		}
		got := one[admissionregistrationv1.ValidatingWebhookConfiguration](template(), "ValidatingWebhookConfiguration").Webhooks
		Expect(got).To(HaveLen(len(want)))
		for _, w := range got {
			Expect(*w.FailurePolicy).To(Equal(*want[w.Name].FailurePolicy), w.Name)
			Expect(*w.TimeoutSeconds).To(Equal(*want[w.Name].TimeoutSeconds), w.Name)
			Expect(w.Rules).To(Equal(want[w.Name].Rules), w.Name)
		}
	})

	It("prints the Argo CD health checks in its notes", func() {
		// helm install --dry-run=client prints the release's notes.
		rel, err := helmInstall(false)
		Expect(err).NotTo(HaveOccurred())
		Expect(rel.Info.Notes).To(ContainSubstring("resource.customizations.health.martech.guardrails.dev_MarketingWorkload: |"))
	})
})
