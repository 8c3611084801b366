package controllers_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/render"
)

const ns = "growth-marketing"

var _ = Describe("the operator on the samples", Ordered, func() {
	ctx := context.Background()

	BeforeAll(func() { applySamples(ctx) })

	It("brings each sample workload to Active with compliant, owned, restricted children", func() {
		for _, name := range []string{"winter-sale-microsite", "server-side-tags"} {
			Eventually(phaseOf(ctx, ns, name)).WithTimeout(30*time.Second).Should(Equal(v1alpha1.PhaseActive), name)
			mw := getMW(ctx, ns, name)(Default)
			Expect(mw.Status.Compliant).To(HaveValue(BeTrue()), name)
			Expect(mw.Status.ObservedGeneration).To(Equal(mw.Generation))
			Expect(mw.Status.Resources).NotTo(BeEmpty())

			var dep appsv1.Deployment
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &dep)).To(Succeed())
			Expect(metav1.IsControlledBy(&dep, mw)).To(BeTrue(), "owner reference on %s", name)
			Expect(dep.Labels).To(HaveKeyWithValue("martech.guardrails.dev/team", "growth"))
			Expect(dep.Labels).To(HaveKey("martech.guardrails.dev/cost-center"))
			Expect(dep.Spec.Template.Spec.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
			c := dep.Spec.Template.Spec.Containers[0]
			Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
			Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
			Expect(c.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
			Expect(dep.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
			Expect(dep.Spec.Template.Spec.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		}
		micro := getMW(ctx, ns, "winter-sale-microsite")(Default)
		Expect(micro.Status.URL).To(Equal("https://winter-sale.campaigns.acme.example/"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}, &networkingv1.Ingress{})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}, &policyv1.PodDisruptionBudget{})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}, &networkingv1.NetworkPolicy{})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "server-side-tags"}, &networkingv1.Ingress{})).To(Satisfy(apierrors.IsNotFound))
	})

	It("injects credentials by reference and never writes a Secret value anywhere", func() {
		var dep appsv1.Deployment
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}, &dep)).To(Succeed())
		var refs []string
		for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				refs = append(refs, e.Name+"="+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
			}
		}
		Expect(refs).To(ContainElements("HUBSPOT_API_KEY=hubspot-credentials/API_KEY", "GA_API_SECRET=ga-credentials/API_SECRET"))

		lists := []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ConfigMapList{}, &corev1.ServiceList{}, &corev1.ServiceAccountList{},
			&networkingv1.IngressList{}, &networkingv1.NetworkPolicyList{}, &policyv1.PodDisruptionBudgetList{},
			&v1alpha1.MarketingWorkloadList{}, &v1alpha1.SaaSIntegrationList{}}
		for _, l := range lists {
			Expect(k8sClient.List(ctx, l, client.InNamespace(ns))).To(Succeed())
			data, err := json.Marshal(l)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(data)).NotTo(ContainSubstring("replace-me"), "%T holds a Secret value", l)
			Expect(string(data)).NotTo(ContainSubstring("G-REPLACEME"), "%T holds a Secret value", l)
		}
	})

	It("records integration status: vendor status, credentials, users, and a waived violation", func() {
		Eventually(func(g Gomega) {
			var si v1alpha1.SaaSIntegration
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-analytics"}, &si)).To(Succeed())
			g.Expect(si.Status.VendorStatus).To(Equal("approved"))
			g.Expect(si.Status.CredentialsFound).To(HaveValue(BeTrue()))
			g.Expect(si.Status.UsedBy).To(ConsistOf("winter-sale-microsite", "server-side-tags"))
			g.Expect(si.Status.Compliant).To(HaveValue(BeTrue()))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			var si v1alpha1.SaaSIntegration
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "retargeting-pilot"}, &si)).To(Succeed())
			g.Expect(si.Status.VendorStatus).To(Equal("restricted"))
			g.Expect(si.Status.Compliant).To(HaveValue(BeTrue()), "the PolicyException waives data-residency")
			var waived []string
			for _, v := range si.Status.Violations {
				if v.Exception != "" {
					waived = append(waived, v.Policy)
				}
			}
			g.Expect(waived).To(ContainElement("data-residency"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			var pex v1alpha1.PolicyException
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "retargeting-pilot-q4"}, &pex)).To(Succeed())
			g.Expect(pex.Status.Active).To(HaveValue(BeTrue()))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("puts back a hand edit of the Deployment's image and replicas", func() {
		var dep appsv1.Deployment
		key := client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}
		Expect(k8sClient.Get(ctx, key, &dep)).To(Succeed())
		wantImage := dep.Spec.Template.Spec.Containers[0].Image
		patch := client.MergeFrom(dep.DeepCopy())
		dep.Spec.Template.Spec.Containers[0].Image = "docker.io/library/nginx:latest"
		dep.Spec.Replicas = ptr.To[int32](7)
		Expect(k8sClient.Patch(ctx, &dep, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())
		Eventually(func(g Gomega) {
			var got appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Spec.Template.Spec.Containers[0].Image).To(Equal(wantImage))
			g.Expect(got.Spec.Replicas).To(HaveValue(Equal(int32(2))))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("writes nothing when nothing changed, and still puts back a hand edit of a ConfigMap or a label", func() {
		name := "winter-sale-microsite"
		Eventually(phaseOf(ctx, ns, name)).WithTimeout(30 * time.Second).Should(Equal(v1alpha1.PhaseActive))
		children := func(g Gomega) map[string]string {
			mw := getMW(ctx, ns, name)(g)
			out := map[string]string{}
			for _, ref := range mw.Status.Resources {
				u := &unstructured.Unstructured{}
				u.SetAPIVersion(ref.APIVersion)
				u.SetKind(ref.Kind)
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, u)).To(Succeed())
				g.Expect(u.GetAnnotations()).To(HaveKey(controllers.AppliedHashAnnotation), "%s %s", ref.Kind, ref.Name)
				out[ref.Kind+"/"+ref.Name] = u.GetResourceVersion()
			}
			return out
		}
		// Let the hand-edit spec's put-back settle: same versions twice.
		var before map[string]string
		Eventually(func(g Gomega) {
			first := children(g)
			time.Sleep(500 * time.Millisecond)
			g.Expect(children(g)).To(Equal(first))
			before = first
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(before).To(HaveLen(7))

		// A server-side apply that changes nothing leaves resourceVersions
		// alone, so count the requests: the nudge is one PATCH, and applying
		// the seven children again would be seven more.
		reconciles := reconcileCount("marketingworkload")
		patches := requestCount("PATCH")
		nudge(ctx, ns, name)
		Eventually(func() float64 { return reconcileCount("marketingworkload") }).WithTimeout(30 * time.Second).Should(BeNumerically(">", reconciles))
		Expect(requestCount("PATCH")-patches).To(BeNumerically("<", 3), "PATCH requests for a reconcile with nothing to change")
		Expect(children(Default)).To(Equal(before), "a reconcile with nothing to change rewrote a child")

		// A ConfigMap has no generation: its edits still reach the reconciler.
		var cm corev1.ConfigMap
		cmKey := client.ObjectKey{Namespace: ns, Name: name + render.EgressConfigMapSuffix}
		Expect(k8sClient.Get(ctx, cmKey, &cm)).To(Succeed())
		want := maps.Clone(cm.Data)
		patch := client.MergeFrom(cm.DeepCopy())
		for k := range cm.Data {
			cm.Data[k] = "edited by hand"
		}
		Expect(k8sClient.Patch(ctx, &cm, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())
		// Nor does a label change bump a Deployment's generation.
		var dep appsv1.Deployment
		depKey := client.ObjectKey{Namespace: ns, Name: name}
		Expect(k8sClient.Get(ctx, depKey, &dep)).To(Succeed())
		wantTeam := dep.Labels["martech.guardrails.dev/team"]
		patch = client.MergeFrom(dep.DeepCopy())
		dep.Labels["martech.guardrails.dev/team"] = "someone-else"
		Expect(k8sClient.Patch(ctx, &dep, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())
		Eventually(func(g Gomega) {
			var got corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, cmKey, &got)).To(Succeed())
			g.Expect(got.Data).To(Equal(want))
			var gotDep appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, depKey, &gotDep)).To(Succeed())
			g.Expect(gotDep.Labels).To(HaveKeyWithValue("martech.guardrails.dev/team", wantTeam))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("blocks the workloads of a vendor made prohibited, leaves their Deployments alone, and unblocks on approval", func() {
		key := client.ObjectKey{Namespace: ns, Name: "winter-sale-microsite"}
		var before appsv1.Deployment
		Expect(k8sClient.Get(ctx, key, &before)).To(Succeed())

		setVendorStatus(ctx, "hubspot", v1alpha1.VendorProhibited)
		Eventually(phaseOf(ctx, ns, "winter-sale-microsite")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseBlocked))
		mw := getMW(ctx, ns, "winter-sale-microsite")(Default)
		Expect(mw.Status.Compliant).To(HaveValue(BeFalse()))
		Expect(policiesOf(mw.Status.Violations)).To(ContainElement("integration-references"))
		Expect(phaseOf(ctx, ns, "server-side-tags")(Default)).To(Equal(v1alpha1.PhaseActive), "a workload not using the vendor stays Active")

		Consistently(func(g Gomega) {
			var dep appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, key, &dep)).To(Succeed())
			g.Expect(dep.Spec).To(Equal(before.Spec))
			g.Expect(dep.DeletionTimestamp).To(BeNil())
		}).WithTimeout(3 * time.Second).Should(Succeed())

		setVendorStatus(ctx, "hubspot", v1alpha1.VendorApproved)
		Eventually(phaseOf(ctx, ns, "winter-sale-microsite")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseActive))
	})

	It("reports a GuardrailPolicy's syntax error with line:col without disturbing evaluation, and applies the fix", func() {
		gp := &v1alpha1.GuardrailPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "no-mkt-4100"},
			Spec: v1alpha1.GuardrailPolicySpec{
				Targets:     []v1alpha1.TargetKind{v1alpha1.KindMarketingWorkload},
				Enforcement: v1alpha1.EnforcementDeny,
				Severity:    v1alpha1.SeverityLow,
				Rego:        "package acme.no_mkt_4100\n\nviolation contains msg if {\n\tinput.object.spec.costCenter == == \"MKT-4100\"\n\tmsg := \"cost centre MKT-4100 is closed\"\n}\n",
			},
		}
		Expect(k8sClient.Create(ctx, gp)).To(Succeed())
		Eventually(func(g Gomega) {
			var got v1alpha1.GuardrailPolicy
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(gp), &got)).To(Succeed())
			g.Expect(got.Status.Compiled).To(BeFalse())
			g.Expect(got.Status.Errors).NotTo(BeEmpty())
			g.Expect(got.Status.Errors[0].Line).To(BeNumerically(">", 0))
			ready := findCondition(got.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Message).To(MatchRegexp(`:\d+:\d+`))
		}).WithTimeout(20 * time.Second).Should(Succeed())
		nudge(ctx, ns, "winter-sale-microsite")
		Consistently(phaseOf(ctx, ns, "winter-sale-microsite")).WithTimeout(3 * time.Second).Should(Equal(v1alpha1.PhaseActive))

		var got v1alpha1.GuardrailPolicy
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(gp), &got)).To(Succeed())
		fix := client.MergeFrom(got.DeepCopy())
		got.Spec.Rego = strings.Replace(got.Spec.Rego, "== ==", "==", 1)
		Expect(k8sClient.Patch(ctx, &got, fix)).To(Succeed())
		Eventually(phaseOf(ctx, ns, "winter-sale-microsite")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseBlocked))
		Expect(policiesOf(getMW(ctx, ns, "winter-sale-microsite")(Default).Status.Violations)).To(ContainElement("no-mkt-4100"))

		Expect(k8sClient.Delete(ctx, &got)).To(Succeed())
		Eventually(func(g Gomega) {
			nudge(ctx, ns, "winter-sale-microsite")
			g.Expect(phaseOf(ctx, ns, "winter-sale-microsite")(g)).To(Equal(v1alpha1.PhaseActive))
		}).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
	})

	It("runs a campaign Scheduled → Active → Ended → Archived by the clock", func() {
		start := clk.Now().Add(time.Hour)
		mw := &v1alpha1.MarketingWorkload{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "flash-sale"},
			Spec: v1alpha1.MarketingWorkloadSpec{
				Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
				CostCenter: "MKT-4200",
				Campaign:   &v1alpha1.Campaign{Name: "flash-sale", StartsAt: metav1.NewTime(start), EndsAt: metav1.NewTime(start.Add(48 * time.Hour))},
				Image:      "ghcr.io/acme-marketing/flash-sale:1.0.0",
				Replicas:   ptr.To[int32](1),
				Exposure:   &v1alpha1.Exposure{Host: "flash.campaigns.acme.example"},
			},
		}
		Expect(k8sClient.Create(ctx, mw)).To(Succeed())
		key := client.ObjectKeyFromObject(mw)
		replicas := func(g Gomega) int32 {
			var dep appsv1.Deployment
			g.Expect(k8sClient.Get(ctx, key, &dep)).To(Succeed())
			return *dep.Spec.Replicas
		}
		ingressExists := func() bool {
			err := k8sClient.Get(ctx, key, &networkingv1.Ingress{})
			return err == nil
		}

		Eventually(phaseOf(ctx, ns, "flash-sale")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseScheduled))
		Eventually(replicas).Should(Equal(int32(0)))
		Expect(ingressExists()).To(BeFalse())
		Expect(getMW(ctx, ns, "flash-sale")(Default).Status.NextTransition.Time).To(BeTemporally("==", start))

		clk.SetTime(start.Add(time.Minute))
		nudge(ctx, ns, "flash-sale")
		Eventually(phaseOf(ctx, ns, "flash-sale")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseActive))
		Eventually(replicas).Should(Equal(int32(1)))
		Eventually(ingressExists).Should(BeTrue())

		clk.SetTime(start.Add(49 * time.Hour))
		nudge(ctx, ns, "flash-sale")
		Eventually(phaseOf(ctx, ns, "flash-sale")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseEnded))
		Eventually(replicas).Should(Equal(int32(0)))
		Eventually(ingressExists).Should(BeFalse())

		clk.SetTime(start.Add(48*time.Hour + 721*time.Hour))
		nudge(ctx, ns, "flash-sale")
		Eventually(phaseOf(ctx, ns, "flash-sale")).WithTimeout(20 * time.Second).Should(Equal(v1alpha1.PhaseArchived))
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key, &appsv1.Deployment{}))
		}).Should(BeTrue(), "children are deleted")
		Expect(getMW(ctx, ns, "flash-sale")(Default).Status.Resources).To(BeEmpty())
	})
})

// requestCount is client-go's rest_client_requests_total for one method,
// every client in this process (the manager's and the test's), all codes.
func requestCount(method string) float64 {
	return metricSum("rest_client_requests_total", "method", method)
}

// reconcileCount is controller-runtime's reconcile_total of one controller
// of the manager running in this process, all results.
func reconcileCount(controller string) float64 {
	return metricSum("controller_runtime_reconcile_total", "controller", controller)
}

// metricSum sums the samples of a counter family whose label has value.
func metricSum(family, label, value string) float64 {
	families, err := crmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func setVendorStatus(ctx context.Context, name string, status v1alpha1.VendorStatus) {
	var v v1alpha1.Vendor
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, &v)).To(Succeed())
	patch := client.MergeFrom(v.DeepCopy())
	v.Spec.Status = status
	Expect(k8sClient.Patch(ctx, &v, patch)).To(Succeed())
}

func policiesOf(vs []v1alpha1.Violation) []string {
	var out []string
	for _, v := range vs {
		if v.Exception == "" {
			out = append(out, v.Policy)
		}
	}
	return out
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition { //nolint:unparam // for any condition type; the specs look at Ready today
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
