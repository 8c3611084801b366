package input

// Builders of the typed objects the conversion tests use: the same objects
// as the engine's tests (internal/policy/builders_test.go).

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

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

func sending(keys ...v1alpha1.TaxonomyKey) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.DataCategories = keys }
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

func enforcing(name string, e v1alpha1.Enforcement) standardOpt {
	return func(s *v1alpha1.PlatformStandard) {
		if s.Spec.Policies.Enforcement == nil {
			s.Spec.Policies.Enforcement = map[string]v1alpha1.Enforcement{}
		}
		s.Spec.Policies.Enforcement[name] = e
	}
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

// namingPolicy is a GuardrailPolicy's Rego, as the engine's tests have it.
const namingPolicy = `package acme.campaign_naming

violation contains {"msg": msg, "field": "spec.campaign.name", "remediation": "Prefix the campaign name with the team name."} if {
	input.kind == "MarketingWorkload"
	not startswith(input.object.spec.campaign.name, input.object.spec.owner.team)
	msg := sprintf("campaign %q does not start with the team name %q", [input.object.spec.campaign.name, input.object.spec.owner.team])
}
`
