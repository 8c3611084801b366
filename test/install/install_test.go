// Package install_test checks the install `make build-installer` writes:
// config/default rendered by kubectl kustomize (as dist/install.yaml) is
// accepted by a real API server object by object, and holds what the
// operator needs to run its webhooks with least privilege.
package install_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

// Names the manager's flags default to (cmd/manager): the install must use
// exactly these, or the certificate rotator writes to the wrong Secret.
const (
	namespace        = "guardrails-system"
	deploymentName   = "guardrails-controller-manager"
	certSecret       = "guardrails-webhook-server-cert"
	webhookService   = "guardrails-webhook-service"
	validatingConfig = "guardrails-validating-webhook-configuration"
	serviceAccount   = "guardrails-controller-manager"
	webhookCertDir   = "/tmp/k8s-webhook-server/serving-certs"
	metricsService   = "guardrails-controller-manager-metrics"
	metricsReader    = "guardrails-metrics-reader"
	// The sample namespace, where config/rbac/credential-reader is applied.
	credentialNS = "growth-marketing"
)

var (
	testEnv *envtest.Environment
	c       client.Client
	scheme  = runtime.NewScheme()
	install []*unstructured.Unstructured // config/default, rendered
	ctx     = context.Background()
)

func TestInstall(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Install Suite")
}

// The repository's paths and envtest's binaries, as every suite finds them.
var (
	repoPath = testenv.RepoPath
	assets   = testenv.Assets
)

// render runs `kubectl kustomize dir`, as make build-installer does.
func render(dir string) []*unstructured.Unstructured {
	GinkgoHelper()
	kubectl := filepath.Join(assets(), "kubectl")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", repoPath(dir))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	Expect(cmd.Run()).To(Succeed(), "kubectl kustomize %s: %s", dir, stderr.String())
	dec := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
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

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	_, err := os.Stat(filepath.Join(assets(), "kube-apiserver"))
	Expect(err).NotTo(HaveOccurred(), "kube-apiserver not found in %s: run `make envtest-bins`", assets())

	install = render("config/default")
	Expect(install).NotTo(BeEmpty())

	testEnv = &envtest.Environment{BinaryAssetsDirectory: assets()}
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

// find returns the rendered objects of a kind, converted to typed objects.
func find[T any](kind string) []*T {
	GinkgoHelper()
	var out []*T
	for _, u := range install {
		if u.GetKind() != kind {
			continue
		}
		t := new(T)
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t)).To(Succeed())
		out = append(out, t)
	}
	return out
}

func named[T any](kind, name string) *T {
	GinkgoHelper()
	for _, u := range install {
		if u.GetKind() == kind && u.GetName() == name {
			t := new(T)
			Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t)).To(Succeed())
			return t
		}
	}
	Fail("no " + kind + " " + name + " in the install")
	return nil
}

var _ = Describe("dist/install.yaml", Ordered, func() {
	It("is accepted by the API server object by object: namespace and CRDs for real, the rest with server-side dry run", func() {
		var rest []*unstructured.Unstructured
		for _, u := range install {
			switch u.GetKind() {
			case "Namespace", "CustomResourceDefinition":
				Expect(c.Create(ctx, u.DeepCopy())).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
			default:
				rest = append(rest, u)
			}
		}
		for _, u := range install {
			if u.GetKind() != "CustomResourceDefinition" {
				continue
			}
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
				client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)
			Expect(err).NotTo(HaveOccurred(), "%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		}
	})

	It("would catch a broken object: the dry run validates", func() {
		broken := named[appsv1.Deployment]("Deployment", deploymentName)
		broken.Spec.Selector = nil
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(broken)
		Expect(err).NotTo(HaveOccurred())
		obj := &unstructured.Unstructured{Object: u}
		obj.SetAPIVersion("apps/v1")
		obj.SetKind("Deployment")
		Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
			client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)).NotTo(Succeed())
	})

	It("holds the whole operator: CRDs, RBAC, manager, webhooks, Services", func() {
		kinds := map[string]int{}
		for _, u := range install {
			kinds[u.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("Namespace", 1))
		Expect(kinds).To(HaveKeyWithValue("CustomResourceDefinition", 6))
		Expect(kinds).To(HaveKeyWithValue("Deployment", 1))
		Expect(kinds).To(HaveKeyWithValue("ValidatingWebhookConfiguration", 1))
		Expect(kinds).NotTo(HaveKey("MutatingWebhookConfiguration"), "no mutation of what users apply")
		Expect(kinds).To(HaveKeyWithValue("Service", 2))
		for _, u := range install {
			if u.GetKind() != "Namespace" && u.GetNamespace() != "" {
				Expect(u.GetNamespace()).To(Equal(namespace), "%s %s", u.GetKind(), u.GetName())
			}
		}
	})

	It("grants no wildcard in any Role or ClusterRole, but reading every Gatekeeper constraint kind", func() {
		var rules []rbacv1.PolicyRule
		for _, r := range find[rbacv1.ClusterRole]("ClusterRole") {
			rules = append(rules, r.Rules...)
		}
		for _, r := range find[rbacv1.Role]("Role") {
			rules = append(rules, r.Rules...)
		}
		Expect(rules).NotTo(BeEmpty())
		for _, r := range rules {
			// Each ConstraintTemplate defines its own constraint kind, a
			// resource of constraints.gatekeeper.sh no install can list
			// ahead: read-only, that group alone (as Gatekeeper's own role).
			if slices.Equal(r.APIGroups, []string{"constraints.gatekeeper.sh"}) && slices.Equal(r.Resources, []string{"*"}) {
				Expect(r.Verbs).To(Equal([]string{"get", "list", "watch"}), "%+v", r)
				continue
			}
			Expect(r.Verbs).NotTo(ContainElement(ContainSubstring("*")), "%+v", r)
			Expect(r.Resources).NotTo(ContainElement(ContainSubstring("*")), "%+v", r)
			Expect(r.APIGroups).NotTo(ContainElement(ContainSubstring("*")), "%+v", r)
			Expect(r.NonResourceURLs).NotTo(ContainElement(ContainSubstring("*")), "%+v", r)
		}
		// The one non-resource rule: reading /metrics, for scrapers.
		for _, cr := range find[rbacv1.ClusterRole]("ClusterRole") {
			for _, r := range cr.Rules {
				if len(r.NonResourceURLs) > 0 {
					Expect(cr.Name).To(Equal(metricsReader), "%+v", r)
					Expect(r.NonResourceURLs).To(Equal([]string{"/metrics"}))
					Expect(r.Verbs).To(Equal([]string{"get"}))
				}
			}
		}
	})

	It("gives the manager no Secret access outside its own namespace: no secrets rule in any ClusterRole", func() {
		for _, cr := range find[rbacv1.ClusterRole]("ClusterRole") {
			for _, r := range cr.Rules {
				Expect(r.Resources).NotTo(ContainElement("secrets"), "ClusterRole %s grants %v on secrets cluster-wide", cr.Name, r.Verbs)
			}
		}
		for _, role := range find[rbacv1.Role]("Role") {
			for _, r := range role.Rules {
				if slices.Contains(r.Resources, "secrets") {
					Expect(role.Namespace).To(Equal(namespace), "Role %s", role.Name)
				}
			}
		}
		// Its own namespace: the certificate rotator's cache lists and
		// watches the serving certificate's Secret there.
		own := named[rbacv1.Role]("Role", "guardrails-manager-secrets-role")
		Expect(own.Namespace).To(Equal(namespace))
		Expect(own.Rules).To(ConsistOf(And(
			HaveField("APIGroups", Equal([]string{""})),
			HaveField("Resources", Equal([]string{"secrets"})),
			HaveField("Verbs", ConsistOf("get", "list", "watch")),
		)))
		Expect(bound(own.Name, "RoleBinding")).To(BeTrue())
		dep := named[appsv1.Deployment]("Deployment", deploymentName)
		for _, arg := range dep.Spec.Template.Spec.Containers[0].Args {
			Expect(arg).NotTo(HavePrefix("--credential-namespaces"), "the install names no managed namespaces; platform teams add them")
		}
	})

	It("serves metrics over HTTPS on 8443 to callers the API server authenticates and authorizes", func() {
		dep := named[appsv1.Deployment]("Deployment", deploymentName)
		ctr := dep.Spec.Template.Spec.Containers[0]
		Expect(ctr.Args).To(ContainElement("--metrics-bind-address=:8443"))
		Expect(ctr.Args).NotTo(ContainElement(HavePrefix("--metrics-secure")), "secure is the default")
		Expect(ctr.Args).NotTo(ContainElement("--enable-http2"))
		Expect(ctr.Ports).To(ContainElement(And(HaveField("Name", "metrics"), HaveField("ContainerPort", int32(8443)))))

		svc := named[corev1.Service]("Service", metricsService)
		Expect(svc.Spec.Selector).To(Equal(dep.Spec.Selector.MatchLabels))
		Expect(svc.Spec.Ports).To(ConsistOf(And(
			HaveField("Name", "https"),
			HaveField("Port", int32(8443)),
			HaveField("TargetPort.StrVal", "metrics"),
			HaveField("AppProtocol", HaveValue(Equal("https"))),
		)))

		// The filter's TokenReviews and SubjectAccessReviews.
		auth := named[rbacv1.ClusterRole]("ClusterRole", "guardrails-metrics-auth-role")
		Expect(auth.Rules).To(ConsistOf(
			And(HaveField("APIGroups", Equal([]string{"authentication.k8s.io"})), HaveField("Resources", Equal([]string{"tokenreviews"})), HaveField("Verbs", Equal([]string{"create"}))),
			And(HaveField("APIGroups", Equal([]string{"authorization.k8s.io"})), HaveField("Resources", Equal([]string{"subjectaccessreviews"})), HaveField("Verbs", Equal([]string{"create"}))),
		))
		Expect(bound(auth.Name, "ClusterRoleBinding")).To(BeTrue())
		// For scrapers to bind; the install binds it to no one.
		reader := named[rbacv1.ClusterRole]("ClusterRole", metricsReader)
		Expect(reader.Rules).To(ConsistOf(And(HaveField("NonResourceURLs", Equal([]string{"/metrics"})), HaveField("Verbs", Equal([]string{"get"})))))
		Expect(bound(reader.Name, "ClusterRoleBinding")).To(BeFalse())
	})

	It("lets the manager rotate its certificate and patch only its own webhook configurations", func() {
		can := func(group, resource, verb, name string) bool {
			for _, cr := range find[rbacv1.ClusterRole]("ClusterRole") {
				if !bound(cr.Name, "ClusterRoleBinding") {
					continue
				}
				for _, r := range cr.Rules {
					if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
						(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)) {
						return true
					}
				}
			}
			return false
		}
		for _, res := range []struct{ resource, name string }{
			{"validatingwebhookconfigurations", validatingConfig},
		} {
			for _, verb := range []string{"get", "list", "watch", "update"} {
				Expect(can("admissionregistration.k8s.io", res.resource, verb, res.name)).To(BeTrue(), "%s %s", verb, res.resource)
			}
			Expect(can("admissionregistration.k8s.io", res.resource, "update", "someone-elses")).To(BeFalse(), "update is limited to our configurations")
		}
		role := named[rbacv1.Role]("Role", "guardrails-webhook-cert-role")
		Expect(role.Rules).To(ContainElement(And(
			HaveField("Resources", ContainElement("secrets")),
			HaveField("ResourceNames", Equal([]string{certSecret})),
			HaveField("Verbs", ContainElement("update")),
		)))
		Expect(bound(role.Name, "RoleBinding")).To(BeTrue())
		secret := named[corev1.Secret]("Secret", certSecret)
		Expect(secret.Data).To(BeEmpty(), "the rotator fills it")
	})

	It("runs the manager with probes, resource limits and the certificate mounted where the webhook server reads it", func() {
		dep := named[appsv1.Deployment]("Deployment", deploymentName)
		Expect(dep.Spec.Template.Spec.ServiceAccountName).To(Equal(serviceAccount))
		ctr := dep.Spec.Template.Spec.Containers[0]
		Expect(ctr.LivenessProbe).NotTo(BeNil())
		Expect(ctr.ReadinessProbe).NotTo(BeNil())
		Expect(ctr.Resources.Limits).To(HaveKey(corev1.ResourceCPU))
		Expect(ctr.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(ctr.Resources.Requests).To(HaveKey(corev1.ResourceMemory))
		Expect(ctr.Args).To(ContainElements("--webhook-port=9443", "--webhook-cert-dir="+webhookCertDir))
		Expect(ctr.Ports).To(ContainElement(And(HaveField("Name", "webhook-server"), HaveField("ContainerPort", int32(9443)))))
		Expect(ctr.Env).To(ContainElement(HaveField("Name", "POD_NAMESPACE")))
		Expect(ctr.VolumeMounts).To(ContainElement(And(HaveField("MountPath", webhookCertDir), HaveField("ReadOnly", true))))
		Expect(dep.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", certSecret)))

		svc := named[corev1.Service]("Service", webhookService)
		Expect(svc.Spec.Selector).To(Equal(dep.Spec.Selector.MatchLabels))
		Expect(svc.Spec.Ports).To(ConsistOf(And(HaveField("Port", int32(443)), HaveField("TargetPort.StrVal", "webhook-server"))))
		Expect(named[corev1.Service]("Service", metricsService).Spec.Selector).To(Equal(dep.Spec.Selector.MatchLabels))
	})

	It("registers every webhook on our Service: our kinds fail closed in 5 s, the guard fails open and sees managed namespaces only", func() {
		vwc := named[admissionregistrationv1.ValidatingWebhookConfiguration]("ValidatingWebhookConfiguration", validatingConfig)
		type hook struct {
			name          string
			cc            admissionregistrationv1.WebhookClientConfig
			failure       admissionregistrationv1.FailurePolicyType
			timeout       int32
			sideEffects   admissionregistrationv1.SideEffectClass
			nsSelector    map[string]string
			subresourceOK bool
		}
		var hooks []hook
		for _, w := range vwc.Webhooks {
			hooks = append(hooks, hook{w.Name, w.ClientConfig, *w.FailurePolicy, *w.TimeoutSeconds, *w.SideEffects, selector(w.NamespaceSelector), noSubresources(w.Rules)})
		}
		Expect(hooks).To(HaveLen(9))
		// matchConditions keep the operator's own writes off every webhook:
		// the username is the installed Deployment's service account.
		dep := named[appsv1.Deployment]("Deployment", deploymentName)
		self := "system:serviceaccount:" + namespace + ":" + dep.Spec.Template.Spec.ServiceAccountName
		for _, w := range vwc.Webhooks {
			Expect(w.MatchConditions).To(ContainElement(And(
				HaveField("Name", "not-the-operator"),
				HaveField("Expression", ContainSubstring("'"+self+"'")),
			)), w.Name)
			if !strings.HasPrefix(w.Name, "guard-") {
				Expect(w.MatchConditions).To(ContainElement(HaveField("Name", "changes-what-policies-read")), w.Name)
			}
		}
		for _, h := range hooks {
			Expect(h.cc.Service).NotTo(BeNil(), h.name)
			Expect(h.cc.Service.Name).To(Equal(webhookService), h.name)
			Expect(h.cc.Service.Namespace).To(Equal(namespace), h.name)
			Expect(h.sideEffects).To(Equal(admissionregistrationv1.SideEffectClassNone), "%s: server-side dry run must reach it", h.name)
			Expect(h.subresourceOK).To(BeTrue(), "%s: status writes are not intercepted", h.name)
			if strings.HasPrefix(h.name, "guard-") {
				Expect(h.failure).To(Equal(admissionregistrationv1.Ignore), h.name)
				Expect(h.nsSelector).To(Equal(map[string]string{"martech.guardrails.dev/managed": "true"}), h.name)
			} else {
				Expect(h.failure).To(Equal(admissionregistrationv1.Fail), h.name)
				Expect(h.timeout).To(Equal(int32(5)), h.name)
				Expect(h.nsSelector).To(BeNil(), h.name)
			}
		}
	})
})

var _ = Describe("config/certmanager", func() {
	It("hands the certificate to cert-manager: Certificate for our Service, CA injection, no self-rotation", func() {
		objs := render("config/certmanager")
		var cert *unstructured.Unstructured
		for _, u := range objs {
			switch u.GetKind() {
			case "Certificate":
				cert = u
			case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
				Expect(u.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", namespace+"/guardrails-serving-cert"))
			case "Deployment":
				var dep appsv1.Deployment
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &dep)).To(Succeed())
				Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--disable-cert-rotation"))
				Expect(dep.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", certSecret)))
			case "Secret":
				Fail("cert-manager creates the Secret; the overlay must not ship one")
			case "ClusterRole", "Role":
				Expect(u.GetName()).NotTo(ContainSubstring("webhook-cert"), "no rotation RBAC with cert-manager")
			}
		}
		Expect(cert).NotTo(BeNil())
		Expect(cert.GetName()).To(Equal("guardrails-serving-cert"))
		Expect(cert.GetNamespace()).To(Equal(namespace))
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		Expect(secretName).To(Equal(certSecret))
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		Expect(dnsNames).To(ContainElement(webhookService + "." + namespace + ".svc"))
	})
})

var _ = Describe("config/rbac/credential-reader", func() {
	It("lets the manager read Secrets in the one namespace it is applied to, and is accepted there", func() {
		objs := render("config/rbac/credential-reader")
		Expect(objs).To(HaveLen(2))
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: credentialNS}}
		Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(Succeed())
		for _, u := range objs {
			Expect(u.GetNamespace()).To(BeEmpty(), "%s %s: a template, applied with -n or an overlay's namespace", u.GetKind(), u.GetName())
			obj := u.DeepCopy()
			obj.SetNamespace(credentialNS)
			Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
				client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)).To(Succeed(), "%s %s", u.GetKind(), u.GetName())
		}
		var role rbacv1.Role
		var binding rbacv1.RoleBinding
		for _, u := range objs {
			switch u.GetKind() {
			case "Role":
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &role)).To(Succeed())
			case "RoleBinding":
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &binding)).To(Succeed())
			default:
				Fail("unexpected " + u.GetKind())
			}
		}
		Expect(role.Rules).To(ConsistOf(And(
			HaveField("APIGroups", Equal([]string{""})),
			HaveField("Resources", Equal([]string{"secrets"})),
			HaveField("ResourceNames", BeEmpty()),
			HaveField("Verbs", ConsistOf("get", "list", "watch")),
		)))
		Expect(binding.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}))
		Expect(binding.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}))
	})
})

var _ = Describe("config/prometheus", func() {
	It("scrapes the metrics Service over HTTPS with the scraper's bearer token", func() {
		objs := render("config/prometheus")
		Expect(objs).To(HaveLen(2))
		kinds := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			kinds[o.GetKind()] = o
		}
		Expect(kinds).To(HaveKey("ServiceMonitor"))
		sm := kinds["ServiceMonitor"]
		Expect(sm.GetAPIVersion()).To(Equal("monitoring.coreos.com/v1"))
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		Expect(endpoints).To(HaveLen(1))
		ep, ok := endpoints[0].(map[string]any)
		Expect(ok).To(BeTrue(), "spec.endpoints[0] is an object")
		Expect(ep).To(HaveKeyWithValue("scheme", "https"))
		Expect(ep).To(HaveKeyWithValue("port", "https"))
		Expect(ep).To(HaveKeyWithValue("path", "/metrics"))
		Expect(ep).To(HaveKeyWithValue("bearerTokenFile", "/var/run/secrets/kubernetes.io/serviceaccount/token"))
		// The selector picks the metrics Service, whose port is named https.
		svc := named[corev1.Service]("Service", metricsService)
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		Expect(sel).NotTo(BeEmpty())
		for k, v := range sel {
			Expect(svc.Labels).To(HaveKeyWithValue(k, v))
		}
		webhookSvc := named[corev1.Service]("Service", webhookService)
		matchesWebhook := true
		for k, v := range sel {
			if webhookSvc.Labels[k] != v {
				matchesWebhook = false
			}
		}
		Expect(matchesWebhook).To(BeFalse(), "the ServiceMonitor must not select the webhook Service")
	})

	It("alerts on the portfolio's deadlines with the metrics the manager exports", func() {
		var rule *unstructured.Unstructured
		for _, o := range render("config/prometheus") {
			if o.GetKind() == "PrometheusRule" {
				rule = o
			}
		}
		Expect(rule).NotTo(BeNil())
		Expect(rule.GetAPIVersion()).To(Equal("monitoring.coreos.com/v1"))
		// The metric names and the what= values the collector emits, read
		// from its source (controllers/vendor_controller_metrics.go and
		// policy.Deadlines), not copied here.
		src, err := os.ReadFile(testenv.RepoPath("controllers", "vendor_controller_metrics.go"))
		Expect(err).NotTo(HaveOccurred())
		groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
		Expect(groups).NotTo(BeEmpty())
		metric := regexp.MustCompile(`\bguardrails_[a-z_]+`)
		whats := regexp.MustCompile(`what=~?"([^"]+)"`)
		alerts := 0
		for _, g := range groups {
			gm, ok := g.(map[string]any)
			Expect(ok).To(BeTrue(), "spec.groups has a non-object %v", g)
			rules, _, _ := unstructured.NestedSlice(gm, "rules")
			for _, r := range rules {
				rm, ok := r.(map[string]any)
				Expect(ok).To(BeTrue(), "a rule is not an object: %v", r)
				expr, _ := rm["expr"].(string)
				Expect(rm["alert"]).NotTo(BeEmpty(), "rule %v", rm)
				Expect(metric.FindAllString(expr, -1)).NotTo(BeEmpty(), "alert %v reads no guardrails metric", rm["alert"])
				for _, name := range metric.FindAllString(expr, -1) {
					Expect(string(src)).To(ContainSubstring(`"`+name+`"`), "alert %v reads %s, which the manager does not export", rm["alert"], name)
				}
				for _, m := range whats.FindAllStringSubmatch(expr, -1) {
					for _, w := range strings.Split(m[1], "|") {
						Expect(knownDeadlines).To(ContainElement(w), "alert %v selects what=%q", rm["alert"], w)
					}
				}
				alerts++
			}
		}
		Expect(alerts).To(BeNumerically(">", 0))
	})
})

// knownDeadlines are the what= labels of
// guardrails_deadline_timestamp_seconds: a Vendor's deadlines and a
// PolicyException's expiry.
var knownDeadlines = []string{policy.DeadlineNotice, policy.DeadlineRenewal, policy.DeadlineDPA, policy.DeadlineSecurityReview, "expiry"}

// bound reports whether the install binds the role to the manager's service account.
func bound(role, bindingKind string) bool {
	for _, u := range install {
		if u.GetKind() != bindingKind {
			continue
		}
		var b rbacv1.RoleBinding // ClusterRoleBinding has the same shape
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b) != nil || b.RoleRef.Name != role {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == serviceAccount && s.Namespace == namespace {
				return true
			}
		}
	}
	return false
}

func selector(s *metav1.LabelSelector) map[string]string {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return nil
	}
	return s.MatchLabels
}

func noSubresources(rules []admissionregistrationv1.RuleWithOperations) bool {
	for _, r := range rules {
		for _, res := range r.Resources {
			if strings.Contains(res, "/") {
				return false
			}
		}
	}
	return true
}
