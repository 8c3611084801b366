package v1alpha1_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// readSamples decodes every document of every config/samples/*.yaml, in file
// order, skipping empty documents.
func readSamples() []*unstructured.Unstructured {
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty(), "no samples in config/samples")
	sort.Strings(files)

	var objs []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := map[string]any{}
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			Expect(err).NotTo(HaveOccurred(), "decoding %s", f)
			if len(obj) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			Expect(u.GetKind()).NotTo(BeEmpty(), "a document in %s has no kind", f)
			u.SetAnnotations(mergeMaps(u.GetAnnotations(), map[string]string{"test/source": filepath.Base(f)}))
			objs = append(objs, u)
		}
	}
	return objs
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func specOf(u *unstructured.Unstructured) map[string]any {
	spec, ok := u.Object["spec"].(map[string]any)
	ExpectWithOffset(1, ok).To(BeTrue(), "%s %s has no spec object", u.GetKind(), u.GetName())
	return spec
}

var _ = Describe("config/samples", func() {
	It("are all accepted by the API server, our kinds and core kinds alike", func() {
		objs := readSamples()
		kinds := map[string]int{}
		for _, u := range objs {
			Expect(k8sClient.Create(ctx, u)).To(Succeed(),
				"sample %s %s/%s from %s", u.GetKind(), u.GetNamespace(), u.GetName(), u.GetAnnotations()["test/source"])
			kinds[u.GetKind()]++
		}
		// Every kind of the API has at least one sample, and the core kinds
		// the samples rely on were created too.
		for _, k := range append([]string{"Namespace", "Secret"}, allKinds...) {
			Expect(kinds).To(HaveKey(k), "no sample of kind %s", k)
		}

		By("reading the samples back through the typed client")
		var mw v1alpha1.MarketingWorkload
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "growth-marketing", Name: "winter-sale-microsite"}, &mw)).To(Succeed())
		Expect(mw.Spec.Campaign).NotTo(BeNil())
		Expect(mw.Spec.Campaign.EndsAt.After(mw.Spec.Campaign.StartsAt.Time)).To(BeTrue())
		Expect(mw.Spec.Integrations).To(HaveLen(2))
		var secret corev1.Secret
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "growth-marketing", Name: "hubspot-credentials"}, &secret)).To(Succeed())
		var vendor v1alpha1.Vendor
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "hubspot"}, &vendor)).To(Succeed())
		Expect(vendor.Spec.Status).To(Equal(v1alpha1.VendorApproved))
	})
})

var _ = Describe("defaults", func() {
	It("leaves a workload's path, replicas and port as applied (render time fills them) and fills a policy's enforcement and severity", func() {
		ns := createNamespace("defaults")

		mw := validObject(v1alpha1.KindMarketingWorkload, ns, uniqueName("mw"))
		spec := specOf(mw)
		delete(spec, "replicas")
		delete(spec, "port")
		spec["exposure"] = map[string]any{"host": "a.campaigns.acme.example"}
		Expect(k8sClient.Create(ctx, mw)).To(Succeed())
		var got v1alpha1.MarketingWorkload
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
		Expect(got.Spec.Replicas).To(BeNil())
		Expect(got.Spec.Port).To(BeZero())
		Expect(got.Spec.Exposure.Path).To(BeEmpty())

		gp := validObject(v1alpha1.KindGuardrailPolicy, "", uniqueName("gp"))
		delete(specOf(gp), "enforcement")
		delete(specOf(gp), "severity")
		Expect(k8sClient.Create(ctx, gp)).To(Succeed())
		var gotGP v1alpha1.GuardrailPolicy
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(gp), &gotGP)).To(Succeed())
		Expect(gotGP.Spec.Enforcement).To(Equal(v1alpha1.EnforcementDeny))
		Expect(gotGP.Spec.Severity).To(Equal(v1alpha1.SeverityMedium))
	})
})

// createNamespace makes a fresh namespace for one test (envtest runs no
// namespace controller, so namespaces are never deleted; names are unique).
func createNamespace(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(prefix)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// invalidCase is one row of the rejection table: start from a valid object
// of kind, apply mutate, and expect the API server to reject it as Invalid
// with a message naming field.
type invalidCase struct {
	kind   string
	mutate func(spec map[string]any)
	field  string
}

var _ = Describe("validation", func() {
	var ns string
	BeforeEach(func() {
		ns = createNamespace("validation")
	})

	It("accepts the valid fixture of every kind (the table's starting points)", func() {
		for _, kind := range allKinds {
			u := validObject(kind, ns, uniqueName("valid"))
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), "valid %s fixture", kind)
		}
	})

	It("accepts the edge values: replicas 0 and 100, port 1024 and 65535, DPA unsigned without expiry", func() {
		for _, tc := range []struct {
			replicas, port int64
		}{{0, 1024}, {100, 65535}} {
			u := validObject(v1alpha1.KindMarketingWorkload, ns, uniqueName("edge"))
			specOf(u)["replicas"] = tc.replicas
			specOf(u)["port"] = tc.port
			Expect(k8sClient.Create(ctx, u)).To(Succeed())
		}
		v := validObject(v1alpha1.KindVendor, "", uniqueName("edge"))
		specOf(v)["dpa"] = map[string]any{"signed": false}
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		s := validObject(v1alpha1.KindSaaSIntegration, ns, uniqueName("edge"))
		delete(specOf(s), "credentials")
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		r := validObject(v1alpha1.KindSaaSIntegration, ns, uniqueName("edge"))
		specOf(r)["legalBasis"] = "legitimate-interests"
		specOf(r)["retention"] = map[string]any{"days": int64(36500), "description": "kept for the statutory period"}
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
	})

	It("names the offending egressCIDRs in the rejection", func() {
		u := validObject(v1alpha1.KindVendor, "", uniqueName("cidr"))
		specOf(u)["egressCIDRs"] = []any{"10.0.0.0/8", "10.0.0.0/33", "vpn.example"}
		err := k8sClient.Create(ctx, u)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.egressCIDRs[1]: Invalid value"))
		Expect(err.Error()).To(ContainSubstring("not 10.0.0.0/33"))
		Expect(err.Error()).To(ContainSubstring("spec.egressCIDRs[2]: Invalid value"))
		Expect(err.Error()).To(ContainSubstring("not vpn.example"))
		Expect(err.Error()).NotTo(ContainSubstring("spec.egressCIDRs[0]"))
	})

	DescribeTable("rejects an invalid object with a message naming the field",
		func(tc invalidCase) {
			u := validObject(tc.kind, ns, uniqueName("invalid"))
			tc.mutate(specOf(u))
			err := k8sClient.Create(ctx, u)
			Expect(err).To(HaveOccurred(), "the API server accepted %v", u.Object["spec"])
			GinkgoWriter.Printf("rejected: %v\n", err)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(tc.field))
		},

		// Vendor
		Entry("Vendor without displayName", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { delete(s, "displayName") }, "spec.displayName"}),
		Entry("Vendor status banned", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["status"] = "banned" }, "spec.status"}),
		Entry("Vendor without status", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { delete(s, "status") }, "spec.status"}),
		Entry("Vendor category crm2", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["category"] = "crm2" }, "spec.category"}),
		Entry("Vendor domain with a space", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["domains"] = []any{"hubapi.com", "Hub Spot.com"} }, "spec.domains[1]"}),
		Entry("Vendor egressCIDR 10.0.0.0/33", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["egressCIDRs"] = []any{"10.0.0.0/8", "10.0.0.0/33"} }, "spec.egressCIDRs[1]"}),
		Entry("Vendor egressCIDR without a prefix length", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["egressCIDRs"] = []any{"104.16.0.1"} }, "spec.egressCIDRs[0]"}),
		Entry("Vendor allowedDataCategories key in capitals", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["allowedDataCategories"] = []any{"User.Contact"} }, "spec.allowedDataCategories[0]"}),
		Entry("Vendor processingRegion europe_1", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["processingRegions"] = []any{"europe_1"} }, "spec.processingRegions[0]"}),
		// The portfolio: a contract's money, dates and notice.
		Entry("Vendor annualCost as a float", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) {
				s["contract"] = map[string]any{"annualCost": map[string]any{"amount": "24000.005", "currency": "EUR"}}
			}, "spec.contract.annualCost.amount"}),
		Entry("Vendor currency euro", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) {
				s["contract"] = map[string]any{"annualCost": map[string]any{"amount": "1.00", "currency": "euro"}}
			}, "spec.contract.annualCost.currency"}),
		Entry("Vendor renewsAt before startsAt", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) {
				s["contract"] = map[string]any{"startsAt": "2027-01-01T00:00:00Z", "renewsAt": "2026-01-01T00:00:00Z"}
			}, "spec.contract.renewsAt: Invalid value"}),
		Entry("Vendor renewsAt in 2262", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["contract"] = map[string]any{"renewsAt": "2262-01-01T00:00:00Z"} }, "contract.renewsAt must be between 1678-01-01 and 2262-01-01"}),
		Entry("Vendor startsAt in 1677", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["contract"] = map[string]any{"startsAt": "1677-12-31T23:59:59Z"} }, "contract.startsAt must be between 1678-01-01 and 2262-01-01"}),
		Entry("Vendor noticeDays without renewsAt", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["contract"] = map[string]any{"noticeDays": int64(30)} }, "spec.contract.noticeDays"}),
		Entry("Vendor negative noticeDays", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) {
				s["contract"] = map[string]any{"renewsAt": "2027-01-01T00:00:00Z", "noticeDays": int64(-1)}
			}, "spec.contract.noticeDays"}),
		Entry("PlatformStandard renewalWarningDays 0", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["portfolio"] = map[string]any{"renewalWarningDays": int64(0)} }, "spec.portfolio.renewalWarningDays"}),
		Entry("Vendor DPA signed without expires", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) { s["dpa"] = map[string]any{"signed": true, "reference": "PROC-1"} }, "spec.dpa.expires"}),
		Entry("Vendor securityReview expires not a date", invalidCase{v1alpha1.KindVendor,
			func(s map[string]any) {
				s["securityReview"] = map[string]any{"completed": true, "expires": "next year"}
			}, "spec.securityReview.expires"}),

		// SaaSIntegration
		Entry("SaaSIntegration legalBasis not an Art. 6(1) basis", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["legalBasis"] = "because" }, "spec.legalBasis"}),
		Entry("SaaSIntegration retention empty", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["retention"] = map[string]any{} }, "retention needs days or a description"}),
		Entry("SaaSIntegration retention of 0 days", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["retention"] = map[string]any{"days": int64(0)} }, "spec.retention.days"}),
		Entry("SaaSIntegration without vendor", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { delete(s, "vendor") }, "spec.vendor"}),
		Entry("SaaSIntegration vendor not a name", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["vendor"] = "Hub Spot" }, "spec.vendor"}),
		Entry("SaaSIntegration without dataUse", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { delete(s, "dataUse") }, "spec.dataUse"}),
		Entry("SaaSIntegration dataUse Marketing.Email", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["dataUse"] = "Marketing.Email" }, "spec.dataUse"}),
		Entry("SaaSIntegration dataCategories key user..contact", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["dataCategories"] = []any{"user..contact"} }, "spec.dataCategories[0]"}),
		Entry("SaaSIntegration dataSubjects key with a dash", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["dataSubjects"] = []any{"customer", "anonymous-user"} }, "spec.dataSubjects[1]"}),
		Entry("SaaSIntegration endpoint with a scheme", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["endpoints"] = []any{"https://api.hubapi.com/v3"} }, "spec.endpoints[0]"}),
		Entry("SaaSIntegration region europe_1", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["region"] = "europe_1" }, "spec.region"}),
		Entry("SaaSIntegration credentials.secretName with empty keys", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) {
				s["credentials"] = map[string]any{"secretName": "hubspot-credentials", "keys": []any{}}
			}, "spec.credentials.keys"}),
		Entry("SaaSIntegration credentials.secretName without keys", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) { s["credentials"] = map[string]any{"secretName": "hubspot-credentials"} }, "spec.credentials.keys"}),
		Entry("SaaSIntegration credentials.secretName not a name", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) {
				s["credentials"] = map[string]any{"secretName": "HubSpot_Creds", "keys": []any{"API_KEY"}}
			}, "spec.credentials.secretName"}),
		Entry("SaaSIntegration credentials key with a slash", invalidCase{v1alpha1.KindSaaSIntegration,
			func(s map[string]any) {
				s["credentials"] = map[string]any{"secretName": "hubspot-credentials", "keys": []any{"api/key"}}
			}, "spec.credentials.keys[0]"}),

		// MarketingWorkload
		Entry("MarketingWorkload without image", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { delete(s, "image") }, "spec.image"}),
		Entry("MarketingWorkload image in capitals", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["image"] = "GHCR.io/Acme/Site:1" }, "spec.image"}),
		Entry("MarketingWorkload replicas -1", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["replicas"] = int64(-1) }, "spec.replicas"}),
		Entry("MarketingWorkload replicas 101", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["replicas"] = int64(101) }, "spec.replicas"}),
		Entry("MarketingWorkload port 80", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["port"] = int64(80) }, "spec.port"}),
		Entry("MarketingWorkload port 65536", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["port"] = int64(65536) }, "spec.port"}),
		Entry("MarketingWorkload campaign endsAt before startsAt", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["campaign"] = map[string]any{"name": "c", "startsAt": "2026-11-20T00:00:00Z", "endsAt": "2026-11-19T00:00:00Z"}
			}, "spec.campaign.endsAt"}),
		Entry("MarketingWorkload campaign endsAt equal to startsAt", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["campaign"] = map[string]any{"name": "c", "startsAt": "2026-11-20T00:00:00Z", "endsAt": "2026-11-20T00:00:00Z"}
			}, "spec.campaign.endsAt"}),
		Entry("MarketingWorkload campaign without endsAt", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["campaign"] = map[string]any{"name": "c", "startsAt": "2026-11-20T00:00:00Z"}
			}, "spec.campaign.endsAt"}),
		Entry("MarketingWorkload campaign name with spaces", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["campaign"] = map[string]any{"name": "Winter Sale", "startsAt": "2026-11-20T00:00:00Z", "endsAt": "2027-02-15T00:00:00Z"}
			}, "spec.campaign.name"}),
		Entry("MarketingWorkload exposure.host with a space", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["exposure"] = map[string]any{"host": "Winter Sale.acme.example"} }, "spec.exposure.host"}),
		Entry("MarketingWorkload exposure without host", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["exposure"] = map[string]any{"path": "/"} }, "spec.exposure.host"}),
		Entry("MarketingWorkload exposure.path without a leading slash", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["exposure"] = map[string]any{"host": "a.acme.example", "path": "shop"} }, "spec.exposure.path"}),
		Entry("MarketingWorkload envPrefix hubspot_", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["integrations"] = []any{map[string]any{"name": "hubspot-email", "envPrefix": "hubspot_"}}
			}, "spec.integrations[0].envPrefix"}),
		Entry("MarketingWorkload integration without name", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["integrations"] = []any{map[string]any{"envPrefix": "HUBSPOT_"}} }, "spec.integrations[0].name"}),
		Entry("MarketingWorkload owner.contact not an e-mail", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["owner"] = map[string]any{"team": "growth", "contact": "growth team"} }, "spec.owner.contact"}),
		Entry("MarketingWorkload owner.team in capitals", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["owner"] = map[string]any{"team": "Growth"} }, "spec.owner.team"}),
		Entry("MarketingWorkload costCenter with a space", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["costCenter"] = "MKT 4100" }, "spec.costCenter"}),
		Entry("MarketingWorkload env name 1-SITE", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["env"] = []any{map[string]any{"name": "1-SITE", "value": "x"}} }, "spec.env[0].name"}),
		Entry("MarketingWorkload duplicate env name", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) {
				s["env"] = []any{map[string]any{"name": "A", "value": "1"}, map[string]any{"name": "A", "value": "2"}}
			}, "spec.env[1]"}),
		Entry("MarketingWorkload dataCategories key with a trailing dot", invalidCase{v1alpha1.KindMarketingWorkload,
			func(s map[string]any) { s["dataCategories"] = []any{"user.contact."} }, "spec.dataCategories[0]"}),

		// PlatformStandard
		Entry("PlatformStandard maxReplicas 0", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["workloadDefaults"] = map[string]any{"maxReplicas": int64(0)} }, "spec.workloadDefaults.maxReplicas"}),
		Entry("PlatformStandard egressProxy without a port", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["network"] = map[string]any{"egressProxy": "egress-proxy.platform.svc"} }, "spec.network.egressProxy"}),
		Entry("PlatformStandard allowedHostSuffix with a space", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["ingress"] = map[string]any{"allowedHostSuffixes": []any{".acme example"}} }, "spec.ingress.allowedHostSuffixes[0]"}),
		Entry("PlatformStandard allowedRegion EU", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["dataResidency"] = map[string]any{"allowedRegions": []any{"EU"}} }, "spec.dataResidency.allowedRegions[0]"}),
		Entry("PlatformStandard policies.enforcement block", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) {
				s["policies"] = map[string]any{"enforcement": map[string]any{"allowed-registries": "block"}}
			}, "spec.policies.enforcement.allowed-registries"}),
		Entry("PlatformStandard sensitiveDataCategories key User.Financial", invalidCase{v1alpha1.KindPlatformStandard,
			func(s map[string]any) { s["sensitiveDataCategories"] = []any{"User.Financial"} }, "spec.sensitiveDataCategories[0]"}),

		// GuardrailPolicy
		Entry("GuardrailPolicy without rego", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { delete(s, "rego") }, "spec.rego"}),
		Entry("GuardrailPolicy empty rego", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["rego"] = "" }, "spec.rego"}),
		Entry("GuardrailPolicy without targets", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { delete(s, "targets") }, "spec.targets"}),
		Entry("GuardrailPolicy targets empty", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["targets"] = []any{} }, "spec.targets"}),
		Entry("GuardrailPolicy targets [Pod]", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["targets"] = []any{"Pod"} }, "spec.targets[0]"}),
		Entry("GuardrailPolicy duplicate targets", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["targets"] = []any{"Vendor", "Vendor"} }, "spec.targets[1]"}),
		Entry("GuardrailPolicy enforcement block", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["enforcement"] = "block" }, "spec.enforcement"}),
		Entry("GuardrailPolicy severity urgent", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["severity"] = "urgent" }, "spec.severity"}),
		Entry("GuardrailPolicy parameters not an object", invalidCase{v1alpha1.KindGuardrailPolicy,
			func(s map[string]any) { s["parameters"] = []any{"latest"} }, "spec.parameters"}),

		// PolicyException
		Entry("PolicyException without expiresAt", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { delete(s, "expiresAt") }, "spec.expiresAt"}),
		Entry("PolicyException expiresAt not a date", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { s["expiresAt"] = "end of january" }, "spec.expiresAt"}),
		Entry("PolicyException policies empty", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { s["policies"] = []any{} }, "spec.policies"}),
		Entry("PolicyException without targets", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { delete(s, "targets") }, "spec.targets"}),
		Entry("PolicyException target kind Pod (not a kind policies judge)", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { s["targets"] = []any{map[string]any{"kind": "Pod", "name": "web"}} }, "spec.targets[0].kind"}),
		Entry("PolicyException target without name", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { s["targets"] = []any{map[string]any{"kind": "SaaSIntegration"}} }, "spec.targets[0].name"}),
		Entry("PolicyException without reason", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { delete(s, "reason") }, "spec.reason"}),
		Entry("PolicyException without approvedBy", invalidCase{v1alpha1.KindPolicyException,
			func(s map[string]any) { delete(s, "approvedBy") }, "spec.approvedBy"}),
	)
})
