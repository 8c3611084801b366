package policy

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Builders for the scenarios: each returns a compliant object that options
// then break in one way.

// testNow is the time of every evaluation in the tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testNS   = "campaigns"
	day      = 24 * time.Hour
	registry = "registry.acme.io/"
)

func at(t time.Time) metav1.Time { return metav1.NewTime(t) }

func days(n int) time.Duration { return time.Duration(n) * day }

type workloadOpt func(*v1alpha1.MarketingWorkload)

func workload(opts ...workloadOpt) *v1alpha1.MarketingWorkload {
	replicas := int32(2)
	w := &v1alpha1.MarketingWorkload{
		ObjectMeta: metav1.ObjectMeta{Name: "spring-sale", Namespace: testNS, ResourceVersion: "7"},
		Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth@acme.io"},
			CostCenter: "CC-1042",
			Campaign: &v1alpha1.Campaign{
				Name:     "spring-sale",
				StartsAt: at(testNow.Add(-days(5))),
				EndsAt:   at(testNow.Add(days(25))),
			},
			Image:    registry + "growth/spring-sale:1.4.2",
			Replicas: &replicas,
			Port:     8080,
			Resources: &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			Exposure:       &v1alpha1.Exposure{Host: "spring.promo.acme.io", Path: "/"},
			DataCategories: []v1alpha1.TaxonomyKey{"user.contact", "user.behavior"},
		},
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

func withImage(image string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Image = image }
}

func withHost(host string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Exposure = &v1alpha1.Exposure{Host: v1alpha1.FQDN(host)} }
}

func withCampaignDays(n int) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) {
		w.Spec.Campaign.EndsAt = at(w.Spec.Campaign.StartsAt.Add(days(n)))
	}
}

func withReplicas(n int32) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Replicas = &n }
}

func withoutOwner() workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Owner = v1alpha1.Owner{} }
}

func withIntegrations(names ...string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) {
		for _, n := range names {
			w.Spec.Integrations = append(w.Spec.Integrations, v1alpha1.IntegrationRef{Name: n})
		}
	}
}

func withDataCategories(keys ...v1alpha1.TaxonomyKey) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.DataCategories = keys }
}

func named(name string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Name = name }
}

type integrationOpt func(*v1alpha1.SaaSIntegration)

func integration(name string, opts ...integrationOpt) *v1alpha1.SaaSIntegration {
	si := &v1alpha1.SaaSIntegration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: v1alpha1.SaaSIntegrationSpec{
			Vendor:         "hubspot",
			Purpose:        "newsletter sign-up",
			DataUse:        "marketing.communications.email",
			DataCategories: []v1alpha1.TaxonomyKey{"user.contact.email"},
			DataSubjects:   []v1alpha1.TaxonomyKey{"customer"},
			Region:         "eu",
			Endpoints:      []v1alpha1.FQDN{"api.hubapi.com"},
			Credentials:    &v1alpha1.Credentials{SecretName: name + "-creds", Keys: []string{"token"}},
		},
	}
	for _, o := range opts {
		o(si)
	}
	return si
}

func withVendor(v string) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.Vendor = v }
}

func sending(keys ...v1alpha1.TaxonomyKey) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.DataCategories = keys }
}

func withLegalBasis(b v1alpha1.LegalBasis) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.LegalBasis = b }
}

func inRegion(r v1alpha1.Region) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.Region = r }
}

func withEndpoints(eps ...v1alpha1.FQDN) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.Endpoints = eps }
}

type vendorOpt func(*v1alpha1.Vendor)

func vendor(name string, opts ...vendorOpt) *v1alpha1.Vendor {
	expires := at(testNow.Add(days(365)))
	v := &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.VendorSpec{
			DisplayName:           name,
			Category:              "email",
			Status:                v1alpha1.VendorApproved,
			Domains:               []v1alpha1.FQDN{"hubapi.com", "hubspot.com"},
			AllowedDataCategories: []v1alpha1.TaxonomyKey{"user.contact", "user.behavior", "user.financial"},
			AllowedDataUses:       []v1alpha1.TaxonomyKey{"marketing", "analytics"},
			ProcessingRegions:     []v1alpha1.Region{"eu", "us"},
			DPA:                   &v1alpha1.DPA{Signed: true, Reference: "DPA-2025-17", Expires: &expires},
		},
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

func withStatus(s v1alpha1.VendorStatus) vendorOpt {
	return func(v *v1alpha1.Vendor) { v.Spec.Status = s }
}

func allowingCategories(keys ...v1alpha1.TaxonomyKey) vendorOpt {
	return func(v *v1alpha1.Vendor) { v.Spec.AllowedDataCategories = keys }
}

func dpaExpired(ago time.Duration) vendorOpt {
	return func(v *v1alpha1.Vendor) {
		t := at(testNow.Add(-ago))
		v.Spec.DPA = &v1alpha1.DPA{Signed: true, Reference: "DPA-2023-02", Expires: &t}
	}
}

type standardOpt func(*v1alpha1.PlatformStandard)

func standard(opts ...standardOpt) *v1alpha1.PlatformStandard {
	maxReplicas := int32(5)
	s := &v1alpha1.PlatformStandard{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultStandardName},
		Spec: v1alpha1.PlatformStandardSpec{
			AllowedRegistries: []string{registry},
			WorkloadDefaults: v1alpha1.WorkloadDefaults{
				MaxReplicas: &maxReplicas,
				Resources: &corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				},
			},
			Ingress:                 v1alpha1.IngressStandard{ClassName: "nginx", AllowedHostSuffixes: []string{".promo.acme.io"}},
			Campaign:                v1alpha1.CampaignStandard{MaxDuration: &metav1.Duration{Duration: days(90)}},
			Credentials:             v1alpha1.CredentialsStandard{MaxAge: &metav1.Duration{Duration: days(90)}},
			DataResidency:           v1alpha1.DataResidency{AllowedRegions: []v1alpha1.Region{"eu"}},
			SensitiveDataCategories: []v1alpha1.TaxonomyKey{"user.financial"},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func disabling(names ...string) standardOpt {
	return func(s *v1alpha1.PlatformStandard) {
		s.Spec.Policies.Disabled = append(s.Spec.Policies.Disabled, names...)
	}
}

func enforcing(name string, e v1alpha1.Enforcement) standardOpt {
	return func(s *v1alpha1.PlatformStandard) {
		if s.Spec.Policies.Enforcement == nil {
			s.Spec.Policies.Enforcement = map[string]v1alpha1.Enforcement{}
		}
		s.Spec.Policies.Enforcement[name] = e
	}
}

func exception(name string, expires time.Time, policies []string, targets ...v1alpha1.ExceptionTarget) v1alpha1.PolicyException {
	return v1alpha1.PolicyException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: v1alpha1.PolicyExceptionSpec{
			Policies:   policies,
			Targets:    targets,
			Reason:     "agreed with IT for the spring campaign",
			ApprovedBy: "it-security@acme.io",
			ExpiresAt:  at(expires),
		},
	}
}

func target(kind, name string) v1alpha1.ExceptionTarget {
	return v1alpha1.ExceptionTarget{Kind: v1alpha1.TargetKind(kind), Name: name}
}

func catalogue(vs ...*v1alpha1.Vendor) map[string]*v1alpha1.Vendor {
	m := make(map[string]*v1alpha1.Vendor, len(vs))
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

func integrationsOf(sis ...*v1alpha1.SaaSIntegration) map[string]*v1alpha1.SaaSIntegration {
	m := make(map[string]*v1alpha1.SaaSIntegration, len(sis))
	for _, si := range sis {
		m[si.Name] = si
	}
	return m
}

// freshSecrets are the Secrets of the integrations, rotated ten days ago.
func freshSecrets(names ...string) map[string]SecretInfo {
	m := make(map[string]SecretInfo, len(names))
	for _, n := range names {
		m[n+"-creds"] = SecretInfo{Exists: true, CreatedAt: testNow.Add(-days(200)), RotatedAt: testNow.Add(-days(10))}
	}
	return m
}

// request is an AUDIT of obj against the default catalogue and standard.
func request(obj any, opts ...func(*Request)) Request {
	r := Request{
		Operation: OperationAudit,
		Object:    obj,
		Namespace: Namespace{Name: testNS, Labels: map[string]string{"team": "growth"}},
		Standard:  standard(),
		Vendors:   catalogue(vendor("hubspot"), vendor("acme-ads", withStatus(v1alpha1.VendorRestricted)), vendor("shadytrack", withStatus(v1alpha1.VendorProhibited))),
		Secrets:   freshSecrets("newsletter", "crm", "ads"),
		Now:       testNow,
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func withStandard(s *v1alpha1.PlatformStandard) func(*Request) {
	return func(r *Request) { r.Standard = s }
}

func withCatalogue(vs ...*v1alpha1.Vendor) func(*Request) {
	return func(r *Request) { r.Vendors = catalogue(vs...) }
}

func withIntegrationObjects(sis ...*v1alpha1.SaaSIntegration) func(*Request) {
	return func(r *Request) { r.Integrations = integrationsOf(sis...) }
}

// stored gives the request's catalogue objects (standard, vendors,
// integrations) a UID and resourceVersion, as objects read from the API
// server have, which lets the engine cache their conversion.
func stored(r *Request) {
	n := 0
	mark := func(m metav1.Object) {
		n++
		m.SetUID(types.UID(fmt.Sprintf("uid-%s-%d", m.GetName(), n)))
		m.SetResourceVersion(fmt.Sprint(1000 + n))
	}
	if r.Standard != nil {
		mark(r.Standard)
	}
	for _, v := range r.Vendors {
		mark(v)
	}
	for _, si := range r.Integrations {
		mark(si)
	}
}

func withSecret(name string, si SecretInfo) func(*Request) {
	return func(r *Request) { r.Secrets[name] = si }
}

func withExceptions(exs ...v1alpha1.PolicyException) func(*Request) {
	return func(r *Request) { r.Exceptions = exs }
}

func guardrailPolicy(name, src string, opts ...func(*v1alpha1.GuardrailPolicy)) v1alpha1.GuardrailPolicy {
	gp := v1alpha1.GuardrailPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.GuardrailPolicySpec{
			Targets:     []v1alpha1.TargetKind{v1alpha1.KindMarketingWorkload},
			Enforcement: v1alpha1.EnforcementDeny,
			Severity:    v1alpha1.SeverityMedium,
			Category:    "naming",
			Rego:        src,
		},
	}
	for _, o := range opts {
		o(&gp)
	}
	return gp
}

func targeting(kinds ...v1alpha1.TargetKind) func(*v1alpha1.GuardrailPolicy) {
	return func(gp *v1alpha1.GuardrailPolicy) { gp.Spec.Targets = kinds }
}

func withParameters(raw string) func(*v1alpha1.GuardrailPolicy) {
	return func(gp *v1alpha1.GuardrailPolicy) { gp.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(raw)} }
}

func withEnforcement(e v1alpha1.Enforcement) func(*v1alpha1.GuardrailPolicy) {
	return func(gp *v1alpha1.GuardrailPolicy) { gp.Spec.Enforcement = e }
}
