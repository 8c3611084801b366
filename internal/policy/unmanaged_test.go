package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

func TestUnmanagedWorkload(t *testing.T) {
	e := builtinEngine(t)
	managed := map[string]string{"martech.guardrails.dev/managed": "true"}
	std := func(mod func(*v1alpha1.PlatformStandard)) *v1alpha1.PlatformStandard {
		s := &v1alpha1.PlatformStandard{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		s.Spec.ManagedNamespaceSelector = &metav1.LabelSelector{MatchLabels: managed}
		if mod != nil {
			mod(s)
		}
		return s
	}
	owner := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: "growth", UID: types.UID("uid-1")}}
	dep := func(ref *metav1.OwnerReference) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "growth"}}
		if ref != nil {
			d.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		return d
	}
	byWorkload := func(uid string) *metav1.OwnerReference {
		return &metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload, Name: "site", UID: types.UID(uid), Controller: ptr.To(true)}
	}
	cases := []struct {
		name        string
		obj         *appsv1.Deployment
		labels      map[string]string
		std         *v1alpha1.PlatformStandard
		owner       *v1alpha1.MarketingWorkload
		enforcement string // "" for no result
		msg         string
		applies     bool
		disabled    bool
	}{
		{name: "raw in a managed namespace", obj: dep(nil), labels: managed, std: std(nil), enforcement: "warn", applies: true,
			msg: `Deployment "web" is not owned by a MarketingWorkload, and namespace "growth" is managed by PlatformStandard "default"`},
		{name: "owned by an existing workload", obj: dep(byWorkload("uid-1")), labels: managed, std: std(nil), owner: owner, applies: true},
		{name: "claims a workload that is gone", obj: dep(byWorkload("uid-1")), labels: managed, std: std(nil), enforcement: "warn", applies: true,
			msg: `names MarketingWorkload "site" as its controller, but no such MarketingWorkload exists in namespace "growth"`},
		{name: "claims a workload of another UID", obj: dep(byWorkload("uid-2")), labels: managed, std: std(nil), owner: owner, enforcement: "warn", applies: true},
		{name: "namespace not managed", obj: dep(nil), labels: map[string]string{"team": "x"}, std: std(nil)},
		{name: "no standard", obj: dep(nil), labels: managed},
		{name: "enforcement overridden", obj: dep(nil), labels: managed, applies: true, enforcement: "deny",
			std: std(func(s *v1alpha1.PlatformStandard) {
				s.Spec.Policies.Enforcement = map[string]v1alpha1.Enforcement{PolicyUnmanagedWorkload: v1alpha1.EnforcementDeny}
			})},
		{name: "disabled", obj: dep(nil), labels: managed, disabled: true,
			std: std(func(s *v1alpha1.PlatformStandard) { s.Spec.Policies.Disabled = []string{PolicyUnmanagedWorkload} })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), Request{
				Object: UnmanagedObject(KindDeployment, tc.obj), Owner: tc.owner, Standard: tc.std,
				Namespace: Namespace{Name: "growth", Labels: tc.labels}, Now: time.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(d.Policies) == 1; got != tc.applies {
				t.Errorf("policies %v, want applies=%v", d.Policies, tc.applies)
			}
			if got := len(d.Disabled) == 1; got != tc.disabled {
				t.Errorf("disabled %v, want %v", d.Disabled, tc.disabled)
			}
			if tc.enforcement == "" {
				if len(d.Results) != 0 {
					t.Fatalf("results %+v, want none", d.Results)
				}
				return
			}
			if len(d.Results) != 1 || d.Results[0].Policy != PolicyUnmanagedWorkload || d.Results[0].Enforcement != tc.enforcement {
				t.Fatalf("results %+v, want one %s result", d.Results, tc.enforcement)
			}
			if !strings.Contains(d.Results[0].Message, tc.msg) || d.Results[0].Field != "metadata.ownerReferences" {
				t.Errorf("result %+v, want message containing %q", d.Results[0], tc.msg)
			}
		})
	}
}

func TestNextChange(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Name: "crm", Namespace: "growth"}}
	si.Spec.Vendor = "hubspot"
	si.Spec.Credentials = &v1alpha1.Credentials{SecretName: "creds"}
	vendor := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Name: "hubspot"}}
	vendor.Spec.DPA = &v1alpha1.DPA{Signed: true, Expires: &metav1.Time{Time: now.Add(30 * 24 * time.Hour)}}
	std := &v1alpha1.PlatformStandard{}
	std.Spec.Credentials.MaxAge = &metav1.Duration{Duration: 240 * time.Hour}
	pex := func(ns, kind, name string, at time.Time) v1alpha1.PolicyException {
		p := v1alpha1.PolicyException{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: ns}}
		p.Spec.Targets = []v1alpha1.ExceptionTarget{{Kind: v1alpha1.TargetKind(kind), Name: name}}
		p.Spec.ExpiresAt = metav1.Time{Time: at}
		return p
	}
	req := Request{Object: si, Vendors: map[string]*v1alpha1.Vendor{"hubspot": vendor}, Standard: std,
		Secrets: map[string]SecretInfo{"creds": {Exists: true, CreatedAt: now.Add(-48 * time.Hour)}}}
	if got, want := NextChange(&req, now), now.Add(192*time.Hour+time.Second); !got.Equal(want) {
		t.Errorf("credential: %s, want %s (created + maxAge + 1s)", got, want)
	}
	req.Exceptions = []v1alpha1.PolicyException{
		pex("other", "SaaSIntegration", "crm", now.Add(time.Hour)),   // another namespace's
		pex("growth", "SaaSIntegration", "web", now.Add(time.Hour)),  // another object's
		pex("growth", "SaaSIntegration", "crm", now.Add(-time.Hour)), // expired already
		pex("growth", "SaaSIntegration", "crm", now.Add(5*time.Hour)),
	}
	if got, want := NextChange(&req, now), now.Add(5*time.Hour); !got.Equal(want) {
		t.Errorf("exception: %s, want %s", got, want)
	}
	req.Secrets = nil
	req.Exceptions = nil
	if got, want := NextChange(&req, now), vendor.Spec.DPA.Expires.Time; !got.Equal(want) {
		t.Errorf("DPA: %s, want %s", got, want)
	}
}
