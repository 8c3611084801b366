package audit_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/audit"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

const (
	samplesNS = "growth-marketing"
	within    = 15 * time.Second
)

func report(g Gomega, ns string) *openreportsv1alpha1.Report {
	var r openreportsv1alpha1.Report
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &r)).To(Succeed())
	return &r
}

// resultFor returns the results about one object and policy.
func resultFor(results []openreportsv1alpha1.ReportResult, kind, name, pol string) []openreportsv1alpha1.ReportResult {
	var out []openreportsv1alpha1.ReportResult
	for _, r := range results {
		if r.Policy == pol && len(r.Subjects) == 1 && r.Subjects[0].Kind == kind && r.Subjects[0].Name == name {
			out = append(out, r)
		}
	}
	return out
}

func outcomes(rs []openreportsv1alpha1.ReportResult) []openreportsv1alpha1.Result {
	out := make([]openreportsv1alpha1.Result, len(rs))
	for i, r := range rs {
		out[i] = r.Result
	}
	return out
}

func integration(g Gomega, name string) *v1alpha1.SaaSIntegration {
	var si v1alpha1.SaaSIntegration
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: samplesNS, Name: name}, &si)).To(Succeed())
	return &si
}

func violationPolicies(vs []v1alpha1.Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Policy
	}
	return out
}

func counter(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			total += value(m)
		}
	}
	return total
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

// resourceVersions are the resourceVersions of every object of our kinds,
// by kind/namespace/name.
func resourceVersions(ctx context.Context) map[string]string {
	out := map[string]string{}
	for _, k := range v1alpha1.Kinds() {
		list := k.NewList()
		Expect(k8sClient.List(ctx, list)).To(Succeed())
		Expect(meta.EachListItem(list, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err == nil {
				out[k.Name+"/"+m.GetNamespace()+"/"+m.GetName()] = m.GetResourceVersion()
			}
			return err
		})).To(Succeed())
	}
	return out
}

// nextPass waits for the next pass's figures.
func nextPass() audit.Stats {
	select {
	case s := <-passes:
		return s
	case <-time.After(within):
		Fail("no audit pass within " + within.String())
	}
	return audit.Stats{}
}

func drain() {
	for {
		select {
		case <-passes:
		default:
			return
		}
	}
}

func rawDeployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}

var _ = Describe("Background audit", Ordered, func() {
	ctx := context.Background()

	BeforeAll(func() {
		applySamples(ctx, k8sClient)
	})

	It("reports the samples per namespace and for the cluster, and records the verdicts in status", func() {
		Eventually(func(g Gomega) {
			r := report(g, samplesNS)
			g.Expect(r.Source).To(Equal(audit.Source))
			g.Expect(r.Labels).To(HaveKeyWithValue(audit.LabelManagedBy, audit.Source))
			waived := resultFor(r.Results, v1alpha1.KindSaaSIntegration, "retargeting-pilot", "data-residency")
			g.Expect(outcomes(waived)).To(ConsistOf(openreportsv1alpha1.Result("skip")))
			g.Expect(waived[0].Properties).To(HaveKeyWithValue(audit.PropException, samplesNS+"/retargeting-pilot-q4"))
			g.Expect(waived[0].Source).To(Equal(audit.Source))
			g.Expect(waived[0].Subjects[0].Namespace).To(Equal(samplesNS))
			g.Expect(r.Summary.Skip).To(BeNumerically(">=", 1))
			g.Expect(r.Summary.Pass).To(BeNumerically(">", 0))
			g.Expect(outcomes(resultFor(r.Results, v1alpha1.KindSaaSIntegration, "hubspot-email", "credential-age"))).To(ConsistOf(openreportsv1alpha1.Result("pass")))

			var cr openreportsv1alpha1.ClusterReport
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: audit.ReportName}, &cr)).To(Succeed())
			g.Expect(resultFor(cr.Results, v1alpha1.KindVendor, "hubspot", "taxonomy-keys")).NotTo(BeEmpty())

			si := integration(g, "retargeting-pilot")
			g.Expect(si.Status.Compliant).To(HaveValue(BeTrue()), "the deny is waived")
			g.Expect(si.Status.Violations).To(ContainElement(And(
				HaveField("Policy", "data-residency"),
				HaveField("Exception", samplesNS+"/retargeting-pilot-q4"))))
		}).WithTimeout(within).Should(Succeed())
	})

	It("judges everything again within seconds when a policy is added, and clears the results when it is deleted", func() {
		gp := &v1alpha1.GuardrailPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "phase-out-hubspot"},
			Spec: v1alpha1.GuardrailPolicySpec{
				Targets: []v1alpha1.TargetKind{v1alpha1.KindSaaSIntegration}, Enforcement: v1alpha1.EnforcementDeny,
				Severity: v1alpha1.SeverityHigh, Category: "procurement",
				Rego: "package acme.phase_out_hubspot\n\nviolation contains {\"msg\": \"HubSpot is being phased out\", \"field\": \"spec.vendor\"} if input.object.spec.vendor == \"hubspot\"\n",
			},
		}
		Expect(k8sClient.Create(ctx, gp)).To(Succeed())
		Eventually(func(g Gomega) {
			si := integration(g, "hubspot-email")
			g.Expect(violationPolicies(si.Status.Violations)).To(ContainElement("phase-out-hubspot"))
			g.Expect(si.Status.Compliant).To(HaveValue(BeFalse()))
			r := report(g, samplesNS)
			got := resultFor(r.Results, v1alpha1.KindSaaSIntegration, "hubspot-email", "phase-out-hubspot")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("fail")))
			g.Expect(got[0].Severity).To(BeEquivalentTo("high"))
			g.Expect(got[0].Category).To(Equal("procurement"))
			g.Expect(got[0].Description).To(Equal("HubSpot is being phased out"))
			g.Expect(got[0].Properties).To(HaveKeyWithValue(audit.PropField, "spec.vendor"))
			// The workload using it fails integration-references: the
			// audit hands the integration's new verdict to it.
			g.Expect(outcomes(resultFor(r.Results, v1alpha1.KindMarketingWorkload, "winter-sale-microsite", "integration-references"))).To(ContainElement(openreportsv1alpha1.Result("fail")))
		}).WithTimeout(within).Should(Succeed())

		Expect(k8sClient.Delete(ctx, gp)).To(Succeed())
		Eventually(func(g Gomega) {
			si := integration(g, "hubspot-email")
			g.Expect(violationPolicies(si.Status.Violations)).NotTo(ContainElement("phase-out-hubspot"))
			g.Expect(si.Status.Compliant).To(HaveValue(BeTrue()))
			r := report(g, samplesNS)
			g.Expect(resultFor(r.Results, v1alpha1.KindSaaSIntegration, "hubspot-email", "phase-out-hubspot")).To(BeEmpty())
			g.Expect(resultFor(r.Results, v1alpha1.KindMarketingWorkload, "winter-sale-microsite", "integration-references")).To(ConsistOf(HaveField("Result", openreportsv1alpha1.Result("pass"))))
		}).WithTimeout(within).Should(Succeed())
	})

	It("reports a raw Deployment in a managed namespace as unmanaged-workload, and none elsewhere", func() {
		Expect(k8sClient.Create(ctx, rawDeployment(samplesNS, "shadow-web"))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "platform-tools"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, rawDeployment("platform-tools", "tools-web"))).To(Succeed())
		// The manager caches only its own children, so the audit does not
		// watch raw Deployments: it lists them when it passes over their
		// namespace (every --audit-interval, or on a change there). A
		// label on the namespace is such a change.
		var ns corev1.Namespace
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: samplesNS}, &ns)).To(Succeed())
		patch := client.MergeFrom(ns.DeepCopy())
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels["audit-test/touched"] = "shadow-web"
		Expect(k8sClient.Patch(ctx, &ns, patch)).To(Succeed())
		Eventually(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, policy.KindDeployment, "shadow-web", policy.PolicyUnmanagedWorkload)
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("warn")), "warn by default")
			g.Expect(got[0].Subjects[0].APIVersion).To(Equal("apps/v1"))
			g.Expect(got[0].Category).To(Equal("shadow-it"))
			g.Expect(got[0].Description).To(ContainSubstring(`Deployment "shadow-web" is not owned by a MarketingWorkload`))
		}).WithTimeout(within).Should(Succeed())
		var r openreportsv1alpha1.Report
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: "platform-tools", Name: audit.ReportName}, &r))).To(BeTrue(),
			"an unmanaged namespace holding none of our objects has no report")
	})

	It("keeps summary counts exact when the results are capped (3 kept of 10 failing objects)", func() {
		const ns = "cap-test"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		for i := range 10 {
			si := &v1alpha1.SaaSIntegration{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("tracker-%02d", i), Namespace: ns},
				Spec: v1alpha1.SaaSIntegrationSpec{
					Vendor: "trackmax", Purpose: "fingerprinting", DataUse: "marketing.advertising", Region: "eu",
					DataCategories: []v1alpha1.TaxonomyKey{"user.device"},
				},
			}
			Expect(k8sClient.Create(ctx, si)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			full := report(g, ns)
			fails := 0
			failing := map[string]bool{}
			for _, r := range full.Results {
				if r.Result == "fail" {
					fails++
					failing[r.Subjects[0].Name] = true
				}
			}
			g.Expect(failing).To(HaveLen(10), "every integration of a prohibited vendor fails")
			g.Expect(full.Summary.Fail).To(Equal(fails))

			pr := &unstructured.Unstructured{}
			pr.SetAPIVersion("wgpolicyk8s.io/v1alpha2")
			pr.SetKind("PolicyReport")
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: audit.ReportName}, pr)).To(Succeed())
			results, _, _ := unstructured.NestedSlice(pr.Object, "results")
			g.Expect(results).To(HaveLen(capResults))
			for _, r := range results {
				g.Expect(r).To(HaveKeyWithValue("result", "fail"), "failures first")
			}
			summary, _, _ := unstructured.NestedMap(pr.Object, "summary")
			g.Expect(summary).To(HaveKeyWithValue("fail", int64(full.Summary.Fail)))
			g.Expect(summary).To(HaveKeyWithValue("warn", int64(full.Summary.Warn)))
			g.Expect(summary).To(HaveKeyWithValue("pass", int64(full.Summary.Pass)))
			g.Expect(pr.Object).NotTo(HaveKey("source"), "wgpolicyk8s.io/v1alpha2 has no top-level source")
		}).WithTimeout(within).Should(Succeed())
	})

	It("writes no report and no status on a pass over an unchanged cluster", func() {
		Eventually(func(g Gomega) {
			drain()
			auditor.Resync()
			s := nextPass()
			g.Expect(s.ReportWrites + s.Rejudged).To(BeZero())
		}).WithTimeout(3 * within).Should(Succeed())
		// The reconcilers may still be settling what earlier specs created
		// (each writes its status once); start from a quiet cluster.
		var versions map[string]string
		Eventually(func(g Gomega) {
			versions = resourceVersions(ctx)
			time.Sleep(time.Second)
			g.Expect(resourceVersions(ctx)).To(Equal(versions), "the reconcilers have settled")
		}).WithTimeout(3 * within).Should(Succeed())
		before := counter(registry, "guardrails_report_writes_total")
		Expect(before).To(BeNumerically(">", 0), "the first passes wrote the reports")
		for range 2 {
			drain()
			auditor.Resync()
			s := nextPass()
			Expect(s.Objects).To(BeNumerically(">", 20))
			Expect(s.ReportWrites).To(BeZero())
			Expect(s.Rejudged).To(BeZero(), "no reconciler is asked to judge again")
		}
		// Nobody writes a status: the audit asks no reconciler, and the
		// reconcilers have nothing new to record.
		Consistently(func() map[string]string { return resourceVersions(ctx) }).WithTimeout(2 * time.Second).Should(Equal(versions))
		fmt.Fprintf(GinkgoWriter, "unchanged pass over %d objects of our kinds: 0 report writes, 0 reconcilers asked, 0 status writes (no resourceVersion changed)\n", len(versions))
		Expect(counter(registry, "guardrails_report_writes_total")).To(Equal(before))
		Expect(counter(registry, "guardrails_audit_last_run_timestamp_seconds")).To(BeNumerically(">", 0))
		Expect(counter(registry, "guardrails_violations")).To(BeNumerically(">", 0))
		Expect(counter(registry, "guardrails_audit_reports_enabled")).To(Equal(1.0))
	})

	It("flips skip to fail at the moment the exception expires (fake clock, no other trigger)", func() {
		var pex v1alpha1.PolicyException
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: samplesNS, Name: "retargeting-pilot-q4"}, &pex)).To(Succeed())
		Eventually(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, v1alpha1.KindSaaSIntegration, "retargeting-pilot", "data-residency")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("skip")))
		}).WithTimeout(within).Should(Succeed())

		clk.SetTime(pex.Spec.ExpiresAt.Add(-time.Second))
		Consistently(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, v1alpha1.KindSaaSIntegration, "retargeting-pilot", "data-residency")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("skip")))
		}).WithTimeout(time.Second).Should(Succeed(), "still waived a second before expiresAt")

		clk.SetTime(pex.Spec.ExpiresAt.Time)
		Eventually(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, v1alpha1.KindSaaSIntegration, "retargeting-pilot", "data-residency")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("fail")))
			g.Expect(got[0].Properties).NotTo(HaveKey(audit.PropException))
			si := integration(g, "retargeting-pilot")
			g.Expect(si.Status.Compliant).To(HaveValue(BeFalse()))
			g.Expect(si.Status.Violations).To(ContainElement(And(HaveField("Policy", "data-residency"), HaveField("Exception", ""))))
			// Written by the integration's reconciler, which the audit asked
			// to judge it again: its conditions say so too.
			g.Expect(meta.FindStatusCondition(si.Status.Conditions, v1alpha1.ConditionReady)).To(And(
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "PolicyDenied")))
		}).WithTimeout(within).Should(Succeed())
		Expect(counter(registry, "guardrails_audit_rejudge_requests_total")).To(BeNumerically(">", 0))
	})

	It("flips pass to warn when a credential crosses the standard's maxAge", func() {
		var secret corev1.Secret
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: samplesNS, Name: "hubspot-credentials"}, &secret)).To(Succeed())
		var std v1alpha1.PlatformStandard
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "default"}, &std)).To(Succeed())
		limit := secret.CreationTimestamp.Add(std.Spec.Credentials.MaxAge.Duration)

		clk.SetTime(limit)
		Consistently(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, v1alpha1.KindSaaSIntegration, "hubspot-email", "credential-age")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("pass")))
		}).WithTimeout(time.Second).Should(Succeed(), "exactly maxAge old is not too old")

		clk.SetTime(limit.Add(time.Second))
		Eventually(func(g Gomega) {
			got := resultFor(report(g, samplesNS).Results, v1alpha1.KindSaaSIntegration, "hubspot-email", "credential-age")
			g.Expect(outcomes(got)).To(ConsistOf(openreportsv1alpha1.Result("warn")))
			g.Expect(violationPolicies(integration(g, "hubspot-email").Status.Violations)).To(ContainElement("credential-age"))
		}).WithTimeout(within).Should(Succeed())
	})
})

var _ = Describe("Without the report CRDs", Ordered, func() {
	var (
		env  *envtest.Environment
		c    client.Client
		reg  *prometheus.Registry
		stop context.CancelFunc
	)
	BeforeAll(func() {
		env = &envtest.Environment{
			CRDDirectoryPaths:     []string{"../../config/crd/bases"},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets(),
		}
		cfg, err := env.Start()
		Expect(err).NotTo(HaveOccurred())
		c, err = client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		reg = prometheus.NewRegistry()
		keep, keepStop := passes, stopMgr
		startAuditors(cfg, audit.ReportAPIOpenReports, reg, 10*time.Minute)
		passesNoCRD, stopNoCRD := passes, stopMgr
		passes, stopMgr = keep, keepStop
		stop = stopNoCRD
		noCRDPasses = passesNoCRD
	})
	AfterAll(func() {
		if stop != nil {
			stop()
		}
		if env != nil {
			Expect(env.Stop()).To(Succeed())
		}
	})

	It("starts, audits into statuses and says the reports are off", func() {
		applySamples(context.Background(), c)
		Expect(c.Create(context.Background(), rawDeployment(samplesNS, "shadow-web"))).To(Succeed())
		Eventually(func(g Gomega) {
			var si v1alpha1.SaaSIntegration
			g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: samplesNS, Name: "retargeting-pilot"}, &si)).To(Succeed())
			g.Expect(si.Status.Violations).To(ContainElement(HaveField("Policy", "data-residency")))
			g.Expect(si.Status.Compliant).NotTo(BeNil())
		}).WithTimeout(within).Should(Succeed())
		var s audit.Stats
		Eventually(noCRDPasses).WithTimeout(within).Should(Receive(&s))
		Expect(s.ReportsOff).To(BeTrue())
		Expect(s.ReportWrites).To(BeZero())
		Expect(counter(reg, "guardrails_audit_reports_enabled")).To(Equal(0.0))
		Eventually(func() float64 { return counter(reg, "guardrails_violations") }).WithTimeout(within).Should(BeNumerically(">", 0))
	})

	It("passes over everything again every --audit-interval", func() {
		Eventually(func() bool { // quiet: no pass for 2 s
			select {
			case <-noCRDPasses:
				return false
			case <-time.After(2 * time.Second):
				return true
			}
		}).WithTimeout(30 * time.Second).Should(BeTrue())
		clk.Step(10 * time.Minute)
		var s audit.Stats
		Eventually(noCRDPasses).WithTimeout(within).Should(Receive(&s))
		Expect(s.Objects).To(BeNumerically(">", 10), "a full pass")
	})
})

var noCRDPasses <-chan audit.Stats
