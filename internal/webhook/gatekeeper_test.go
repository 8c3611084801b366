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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

// Gatekeeper's CRDs are installed while the manager runs (as when
// Gatekeeper is installed after the operator: the loader finds them on its
// next look), with the constraint CRD Gatekeeper would make for the test
// template; no Gatekeeper runs. The constraint matches only gatekeeperNS,
// so the other specs, before and after, are judged as without Gatekeeper.
const gatekeeperNS = "gatekeeper-demo"

// gatekeeperWorkload is a MarketingWorkload as a marketing engineer applies
// it: no campaign, so its rendered Deployment has no campaign label; NAME,
// NAMESPACE and COST (its cost centre) are filled in by
// gatekeeperWorkloadFile.
const gatekeeperWorkload = `apiVersion: martech.guardrails.dev/v1alpha1
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

// The constraint's message for the Deployment rendered for a workload.
func labelMessage(name string) string {
	return `Deployment ` + name + ` must carry the labels {"martech.guardrails.dev/campaign"}`
}

var _ = Describe("Gatekeeper's templates judge the children a MarketingWorkload will have", Ordered, func() {
	gk := &gatekeeperCase{
		name:          "k8srequiredlabels",
		templateKey:   "ConstraintTemplate/k8srequiredlabels",
		constraintKey: "K8sRequiredLabels/deployments-need-campaign",
		namespace:     gatekeeperNS,
		workloads:     []string{"spring-sale", "summer-sale"},
	}
	workloadFile := func(name, namespace string) string {
		GinkgoHelper()
		return gatekeeperWorkloadFile(name, namespace, "MKT-4100")
	}
	setAction := func(action string) {
		GinkgoHelper()
		constraint := gk.constraint
		Expect(e.client.Get(ctx, client.ObjectKeyFromObject(constraint), constraint)).To(Succeed())
		Expect(unstructured.SetNestedField(constraint.Object, action, "spec", "enforcementAction")).To(Succeed())
		Expect(e.client.Update(ctx, constraint)).To(Succeed())
		gatekeeperLoaded(gk.constraintKey, constraint.GetGeneration())
	}
	phase := func(name string) func(Gomega) v1alpha1.WorkloadPhase {
		return func(g Gomega) v1alpha1.WorkloadPhase {
			var mw v1alpha1.MarketingWorkload
			g.Expect(e.client.Get(ctx, types.NamespacedName{Namespace: gatekeeperNS, Name: name}, &mw)).To(Succeed())
			return mw.Status.Phase
		}
	}

	BeforeAll(func() {
		createManagedNamespace(gatekeeperNS)
		Expect(e.policies.Gatekeeper().Generations).To(BeEmpty(), "without Gatekeeper's CRDs the engine holds no Gatekeeper set")
		gk.installCRDs()
		gk.create()
	})

	It("denies `kubectl apply` of a workload whose rendered Deployment lacks the required label, with the constraint's message", func() {
		out, err := kubectl("apply", "-f", workloadFile("spring-sale", gatekeeperNS))
		Expect(err).To(HaveOccurred(), "%s", out)
		Expect(string(out)).To(ContainSubstring("denied the request"))
		Expect(string(out)).To(ContainSubstring(labelMessage("spring-sale")))
		Expect(string(out)).To(ContainSubstring("deployments-need-campaign (Deployment/spring-sale)"), "the result names the constraint and the child")
		var mw v1alpha1.MarketingWorkload
		Expect(apierrors.IsNotFound(e.client.Get(ctx, types.NamespacedName{Namespace: gatekeeperNS, Name: "spring-sale"}, &mw))).To(BeTrue(), "nothing stored")

		out, err = kubectl("apply", "--dry-run=server", "-f", workloadFile("spring-sale", managedNS))
		Expect(err).NotTo(HaveOccurred(), "the constraint matches only %s: %s", gatekeeperNS, out)
	})

	It("admits it with the message as a warning when the constraint's enforcementAction is warn, and provisions it", func() {
		setAction("warn")
		out, err := kubectl("apply", "-f", workloadFile("spring-sale", gatekeeperNS))
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Expect(string(out)).To(MatchRegexp(`Warning: .*` + strings.ReplaceAll(labelMessage("spring-sale"), ".", `\.`)))
		Eventually(func(g Gomega) {
			var dep appsv1.Deployment
			g.Expect(e.client.Get(ctx, types.NamespacedName{Namespace: gatekeeperNS, Name: "spring-sale"}, &dep)).To(Succeed())
		}).WithTimeout(30*time.Second).Should(Succeed(), "a warning does not block the reconcile")
		Expect(phase("spring-sale")(Default)).NotTo(Equal(v1alpha1.PhaseBlocked))
	})

	It("blocks the provisioned workload once the constraint denies again: the change re-reconciles it", func() {
		setAction("deny")
		Eventually(phase("spring-sale")).WithTimeout(30 * time.Second).Should(Equal(v1alpha1.PhaseBlocked))
		var mw v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, types.NamespacedName{Namespace: gatekeeperNS, Name: "spring-sale"}, &mw)).To(Succeed())
		Expect(violationMessages(&mw)).To(ContainElement(ContainSubstring(labelMessage("spring-sale"))))
	})

	It("keeps the last good template in force when an update does not compile, and reports the error with line:col", func() {
		template := gk.template
		Expect(e.client.Get(ctx, client.ObjectKeyFromObject(template), template)).To(Succeed())
		targets, _, _ := unstructured.NestedSlice(template.Object, "spec", "targets")
		Expect(targets).NotTo(BeEmpty())
		target, ok := targets[0].(map[string]any)
		Expect(ok).To(BeTrue(), "spec.targets[0] is an object")
		target["rego"] = "package k8srequiredlabels\n\nviolation[{\"msg\": msg}] {\n  msg := \n}\n"
		Expect(unstructured.SetNestedSlice(template.Object, targets, "spec", "targets")).To(Succeed())
		Expect(e.client.Update(ctx, template)).To(Succeed())
		gatekeeperLoaded(gk.templateKey, template.GetGeneration())
		errs := e.policies.Gatekeeper().Report.Errors[gk.templateKey]
		Expect(errs).NotTo(BeEmpty(), "the broken update is reported")
		Expect(errs[0].Line).To(BeNumerically(">", 0), "with its line: %v", errs)

		out, err := kubectl("apply", "--dry-run=server", "-f", workloadFile("summer-sale", gatekeeperNS))
		Expect(err).To(HaveOccurred(), "the last good template still denies: %s", out)
		Expect(string(out)).To(ContainSubstring(labelMessage("summer-sale")))
	})

	It("lets the apply through once the constraint is removed, and unblocks the workload it blocked", func() {
		Expect(e.client.Delete(ctx, gk.constraint)).To(Succeed())
		gatekeeperLoaded(gk.constraintKey, 0)
		out, err := kubectl("apply", "-f", workloadFile("summer-sale", gatekeeperNS))
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		Expect(string(out)).NotTo(ContainSubstring("must carry the labels"))
		Eventually(phase("spring-sale")).WithTimeout(30 * time.Second).ShouldNot(Equal(v1alpha1.PhaseBlocked))
	})
})

// gatekeeperCase is a ConstraintTemplate and its constraint of
// test/gatekeeper (<name>-template.yaml, <name>-constraint.yaml, and the
// constraint CRD Gatekeeper would make, <name>-constraint-crd.yaml), put in
// the cluster while the manager runs.
type gatekeeperCase struct {
	name string
	// The keys of Loader.Gatekeeper().Generations the objects are under.
	templateKey, constraintKey string
	// namespace holds the workloads the specs create, deleted at cleanup.
	namespace string
	workloads []string

	template, constraint *unstructured.Unstructured // once created
}

func (c *gatekeeperCase) file(suffix string) string {
	return repoPath("test", "gatekeeper", c.name+suffix+".yaml")
}

// installCRDs installs Gatekeeper's ConstraintTemplate CRD and the
// constraint CRD; InstallCRDs returns once the API server serves them.
func (c *gatekeeperCase) installCRDs() {
	GinkgoHelper()
	_, err := envtest.InstallCRDs(e.cfg, envtest.CRDInstallOptions{Paths: []string{
		repoPath("test", "gatekeeper", "constrainttemplate-customresourcedefinition.yaml"),
		c.file("-constraint-crd"),
	}, ErrorIfPathMissing: true})
	Expect(err).NotTo(HaveOccurred())
}

// create creates the template and the constraint, waits until the loader
// has given them to the engine without errors, and at cleanup deletes the
// workloads, the constraint and the template (and waits until the loader
// has dropped the template).
func (c *gatekeeperCase) create() {
	GinkgoHelper()
	c.template = readObject(c.file("-template"))
	c.constraint = readObject(c.file("-constraint"))
	Expect(e.client.Create(ctx, c.template)).To(Succeed())
	Expect(e.client.Create(ctx, c.constraint)).To(Succeed())
	gatekeeperLoaded(c.templateKey, c.template.GetGeneration())
	gatekeeperLoaded(c.constraintKey, c.constraint.GetGeneration())
	Expect(e.policies.Gatekeeper().Report.Errors).To(BeEmpty())
	DeferCleanup(func() {
		for _, name := range c.workloads {
			mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: name}}
			Expect(client.IgnoreNotFound(e.client.Delete(ctx, mw))).To(Succeed())
		}
		Expect(client.IgnoreNotFound(e.client.Delete(ctx, c.constraint))).To(Succeed())
		Expect(client.IgnoreNotFound(e.client.Delete(ctx, c.template))).To(Succeed())
		gatekeeperLoaded(c.templateKey, 0)
	})
}

// gatekeeperLoaded waits until the loader has given the engine generation
// gen of the object key (0: until the object is gone).
func gatekeeperLoaded(key string, gen int64) {
	GinkgoHelper()
	Eventually(func() int64 { return e.policies.Gatekeeper().Generations[key] }).
		WithTimeout(30*time.Second).Should(Equal(gen), "the loader gave the engine %s generation %d", key, gen)
}

// gatekeeperWorkloadFile writes gatekeeperWorkload, named name in namespace
// with cost centre cost, to a file for kubectl apply -f.
func gatekeeperWorkloadFile(name, namespace, cost string) string {
	GinkgoHelper()
	f := filepath.Join(GinkgoT().TempDir(), name+".yaml")
	doc := strings.NewReplacer("NAMESPACE", namespace, "NAME", name, "COST", cost).Replace(gatekeeperWorkload)
	Expect(os.WriteFile(f, []byte(doc), 0o600)).To(Succeed())
	return f
}

// createManagedNamespace creates a namespace the operator manages, for the
// growth team, unless it exists.
func createManagedNamespace(name string) {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"martech.guardrails.dev/managed": "true", "martech.guardrails.dev/team": "growth",
	}}}
	Expect(client.IgnoreAlreadyExists(e.client.Create(ctx, ns))).To(Succeed())
}

// violationMessages are the messages of mw's status.violations.
func violationMessages(mw *v1alpha1.MarketingWorkload) []string {
	var messages []string
	for _, v := range mw.Status.Violations {
		messages = append(messages, v.Message)
	}
	return messages
}

// readObject decodes the one object of a YAML file.
func readObject(path string) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	Expect(testenv.ReadObject(path, &u.Object)).To(Succeed())
	return u
}
