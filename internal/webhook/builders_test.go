package webhook_test

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

// The managed namespace of the samples, and the sample standard's defaults.
const (
	managedNS = webhookenv.SamplesNamespace
)

// Small builders for the scenarios: a compliant object by default, changed
// by options.

type workloadOpt func(*v1alpha1.MarketingWorkload)

// workload is a compliant MarketingWorkload in the samples' namespace, with
// no integrations and no resources (the standard's defaults apply).
func workload(name string, opts ...workloadOpt) *v1alpha1.MarketingWorkload {
	mw := webhookenv.BaseWorkload(name)
	for _, o := range opts {
		o(mw)
	}
	return mw
}

func withImage(image string) workloadOpt {
	return func(mw *v1alpha1.MarketingWorkload) { mw.Spec.Image = image }
}

func withoutOwner() workloadOpt {
	return func(mw *v1alpha1.MarketingWorkload) { mw.Spec.Owner = v1alpha1.Owner{} }
}

func withDataCategories(keys ...v1alpha1.TaxonomyKey) workloadOpt {
	return func(mw *v1alpha1.MarketingWorkload) { mw.Spec.DataCategories = keys }
}

func withResources(cpu, memory string) workloadOpt {
	return func(mw *v1alpha1.MarketingWorkload) {
		mw.Spec.Resources = &corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		}
	}
}

type integrationOpt func(*v1alpha1.SaaSIntegration)

// integration is a compliant SaaSIntegration with HubSpot.
func integration(name string, opts ...integrationOpt) *v1alpha1.SaaSIntegration {
	si := &v1alpha1.SaaSIntegration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: managedNS},
		Spec: v1alpha1.SaaSIntegrationSpec{
			Vendor:         "hubspot",
			Purpose:        "newsletter sign-ups",
			DataUse:        "marketing.communications.email",
			DataCategories: []v1alpha1.TaxonomyKey{"user.contact.email"},
			DataSubjects:   []v1alpha1.TaxonomyKey{"customer"},
			Region:         "eu",
			Endpoints:      []v1alpha1.FQDN{"api.hubapi.com"},
			Credentials:    &v1alpha1.Credentials{SecretName: "hubspot-credentials", Keys: []string{"API_KEY"}},
		},
	}
	for _, o := range opts {
		o(si)
	}
	return si
}

func withVendor(vendor string, region v1alpha1.Region, endpoints ...v1alpha1.FQDN) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) {
		si.Spec.Vendor, si.Spec.Region, si.Spec.Endpoints = vendor, region, endpoints
	}
}

func withDataUse(use v1alpha1.TaxonomyKey) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.DataUse = use }
}

func withIntegrationCategories(keys ...v1alpha1.TaxonomyKey) integrationOpt {
	return func(si *v1alpha1.SaaSIntegration) { si.Spec.DataCategories = keys }
}

// exception waives policies for one target until expires.
func exception(name string, expires time.Time, policies []string, kind v1alpha1.TargetKind, target string) *v1alpha1.PolicyException {
	return &v1alpha1.PolicyException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: managedNS},
		Spec: v1alpha1.PolicyExceptionSpec{
			Policies:   policies,
			Targets:    []v1alpha1.ExceptionTarget{{Kind: kind, Name: target}},
			Reason:     "test",
			ApprovedBy: "dpo@acme.example",
			ExpiresAt:  metav1.NewTime(expires),
		},
	}
}

// guardrailPolicy is a custom policy with the given Rego.
func guardrailPolicy(name, rego string) *v1alpha1.GuardrailPolicy {
	return &v1alpha1.GuardrailPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.GuardrailPolicySpec{
			Targets:     []v1alpha1.TargetKind{v1alpha1.KindMarketingWorkload},
			Enforcement: v1alpha1.EnforcementDeny,
			Severity:    v1alpha1.SeverityLow,
			Rego:        rego,
		},
	}
}

// rawDeployment is a Deployment not created by the operator.
func rawDeployment(namespace, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
}
