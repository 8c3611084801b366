package render_test

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mtime(s string) metav1.Time { return metav1.NewTime(mustTime(s)) }

// Small builders: a test starts from a minimal valid object and changes what
// its scenario is about.

type workloadOpt func(*v1alpha1.MarketingWorkload)

func newWorkload(opts ...workloadOpt) *v1alpha1.MarketingWorkload {
	w := &v1alpha1.MarketingWorkload{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload},
		ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: "mkt"},
		Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth@acme.example"},
			CostCenter: "MKT-1",
			Image:      "ghcr.io/acme/site:1.0.0",
		},
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

func withCampaign(start, end string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) {
		w.Spec.Campaign = &v1alpha1.Campaign{Name: "spring", StartsAt: mtime(start), EndsAt: mtime(end)}
	}
}

func withReplicas(n int32) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Replicas = ptr.To(n) }
}

func withExposure(host string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) { w.Spec.Exposure = &v1alpha1.Exposure{Host: v1alpha1.FQDN(host)} }
}

func withIntegration(name, prefix string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) {
		w.Spec.Integrations = append(w.Spec.Integrations, v1alpha1.IntegrationRef{Name: name, EnvPrefix: prefix})
	}
}

func withEnv(name, value string) workloadOpt {
	return func(w *v1alpha1.MarketingWorkload) {
		w.Spec.Env = append(w.Spec.Env, v1alpha1.EnvVar{Name: name, Value: value})
	}
}

func newIntegration(name, vendor, secret string, keys []string, endpoints ...string) *v1alpha1.SaaSIntegration {
	si := &v1alpha1.SaaSIntegration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mkt"},
		Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: vendor, DataUse: "analytics"},
	}
	for _, e := range endpoints {
		si.Spec.Endpoints = append(si.Spec.Endpoints, v1alpha1.FQDN(e))
	}
	if secret != "" {
		si.Spec.Credentials = &v1alpha1.Credentials{SecretName: secret, Keys: keys}
	}
	return si
}

func newVendor(name string, cidrs ...string) *v1alpha1.Vendor {
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.VendorSpec{DisplayName: name, Category: "other", Status: v1alpha1.VendorApproved, EgressCIDRs: cidrs},
	}
}

func newStandard(mut func(*v1alpha1.PlatformStandardSpec)) *v1alpha1.PlatformStandard {
	s := &v1alpha1.PlatformStandard{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultStandardName}}
	if mut != nil {
		mut(&s.Spec)
	}
	return s
}

func duration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
