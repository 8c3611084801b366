package policy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// TestTaxonomyKeys checks every taxonomy field of every kind: an unknown key
// is a deny of taxonomy-keys at its index, with the nearest known key.
func TestTaxonomyKeys(t *testing.T) {
	e := newTestEngine(t, Options{})
	cases := map[string]struct {
		obj   any
		field string
		key   string
		near  string
	}{
		"workload dataCategories":    {workload(withDataCategories("user.contact.email", "user.contact.emial")), "spec.dataCategories[1]", "user.contact.emial", "user.contact.email"},
		"integration dataCategories": {integration("newsletter", sending("user.contact.emial")), "spec.dataCategories[0]", "user.contact.emial", "user.contact.email"},
		"integration dataUse":        {integration("newsletter", func(si *v1alpha1.SaaSIntegration) { si.Spec.DataUse = "marketing.communications.emal" }), "spec.dataUse", "marketing.communications.emal", "marketing.communications.email"},
		"integration dataSubjects": {integration("newsletter", func(si *v1alpha1.SaaSIntegration) {
			si.Spec.DataSubjects = []v1alpha1.TaxonomyKey{"customer", "custmer"}
		}), "spec.dataSubjects[1]", "custmer", "customer"},
		"vendor allowedDataCategories": {vendor("hubspot", allowingCategories("user.contact.emial")), "spec.allowedDataCategories[0]", "user.contact.emial", "user.contact.email"},
		"vendor allowedDataUses":       {vendor("hubspot", func(v *v1alpha1.Vendor) { v.Spec.AllowedDataUses = []v1alpha1.TaxonomyKey{"analytics.reportng"} }), "spec.allowedDataUses[0]", "analytics.reportng", "analytics.reporting"},
		"standard sensitiveDataCategories": {standard(func(s *v1alpha1.PlatformStandard) {
			s.Spec.SensitiveDataCategories = []v1alpha1.TaxonomyKey{"user.financial", "user.finansial"}
		}), "spec.sensitiveDataCategories[1]", "user.finansial", "user.financial"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), request(c.obj))
			if err != nil {
				t.Fatal(err)
			}
			rs := resultsOf(d, PolicyTaxonomyKeys)
			if len(rs) != 1 {
				t.Fatalf("taxonomy-keys results: %+v (all: %+v)", rs, d.Results)
			}
			r := rs[0]
			if r.Enforcement != "deny" || r.Field != c.field || !strings.Contains(r.Message, `"`+c.key+`"`) || !strings.Contains(r.Message, "did you mean "+c.near) || !r.IsValidation() {
				t.Errorf("got %+v, want deny at %s naming %s and %s", r, c.field, c.key, c.near)
			}
			if !d.Denied() || !slices.Contains(d.Policies, PolicyTaxonomyKeys) {
				t.Errorf("decision: denied %v, policies %v", d.Denied(), d.Policies)
			}
		})
	}
}

// TestTaxonomyKeysCannotBeWaivedOrDisabled: a standard that disables or
// overrides taxonomy-keys, and an exception naming it, change nothing.
func TestTaxonomyKeysCannotBeWaivedOrDisabled(t *testing.T) {
	e := newTestEngine(t, Options{})
	wl := workload(withDataCategories("user.contact.emial"))
	std := standard(disabling(PolicyTaxonomyKeys), enforcing(PolicyTaxonomyKeys, v1alpha1.EnforcementAudit))
	ex := exception("typo", testNow.Add(day), []string{PolicyTaxonomyKeys}, target("MarketingWorkload", wl.Name))
	d, err := e.Evaluate(context.Background(), request(wl, withStandard(std), withExceptions(ex)))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, PolicyTaxonomyKeys)
	if len(rs) != 1 || rs[0].Enforcement != "deny" || rs[0].Waived() {
		t.Errorf("taxonomy-keys: %+v", rs)
	}
}

// TestPolicyNames: unknown names in a standard's spec.policies warn, with
// the nearest policy name; known ones (built-in and custom) do not.
func TestPolicyNames(t *testing.T) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("campaign-naming", namingPolicy))
	std := standard(disabling("campaign-naming", "alowed-registries"), enforcing("ownershp", v1alpha1.EnforcementWarn), enforcing("credential-age", v1alpha1.EnforcementDeny))
	d, err := e.Evaluate(context.Background(), request(std))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, PolicyNames)
	if len(rs) != 2 {
		t.Fatalf("policy-names: %+v", rs)
	}
	want := map[string]string{
		"spec.policies.disabled[1]":          `no policy named "alowed-registries" is in force (did you mean allowed-registries?)`,
		"spec.policies.enforcement.ownershp": `no policy named "ownershp" is in force (did you mean ownership?)`,
	}
	for _, r := range rs {
		if r.Enforcement != "warn" || want[r.Field] != r.Message {
			t.Errorf("got %s %s %q", r.Enforcement, r.Field, r.Message)
		}
	}
	if got := e.UnknownPolicyNames(std); strings.Join(got, ",") != "alowed-registries,ownershp" {
		t.Errorf("UnknownPolicyNames: %v", got)
	}
	if d.Denied() {
		t.Error("unknown policy names must not deny")
	}
}

// TestDecisionPoliciesAndDisabled: the decision says which policies judged
// the object and which the standard disabled, and a custom policy whose
// namespaceSelector does not match is in neither.
func TestDecisionPoliciesAndDisabled(t *testing.T) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("campaign-naming", namingPolicy, func(gp *v1alpha1.GuardrailPolicy) {
		gp.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "brand"}}
	}))
	d, err := e.Evaluate(context.Background(), request(workload(), withStandard(standard(disabling("ownership")))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.Disabled, "ownership") || slices.Contains(d.Policies, "ownership") {
		t.Errorf("disabled %v, policies %v", d.Disabled, d.Policies)
	}
	if slices.Contains(d.Policies, "campaign-naming") || slices.Contains(d.Disabled, "campaign-naming") {
		t.Errorf("a policy whose selector does not match is listed: %v / %v", d.Policies, d.Disabled)
	}
	if !slices.Contains(d.Policies, "allowed-registries") || !slices.Contains(d.Policies, PolicyTaxonomyKeys) {
		t.Errorf("policies %v", d.Policies)
	}
}

// TestExpiryRule pins the one boundary rule: valid strictly before the
// expiry, expired from that instant on, in whole seconds.
func TestExpiryRule(t *testing.T) {
	exp := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now     time.Time
		expired bool
	}{
		{exp.Add(-time.Second), false},
		{exp.Add(-time.Millisecond), false}, // still 23:59:59 in whole seconds
		{exp, true},
		{exp.Add(time.Second), true},
	} {
		if got := Expired(exp, c.now); got != c.expired {
			t.Errorf("Expired(%s, %s) = %v", exp, c.now, got)
		}
	}
	if Expired(time.Time{}, exp) {
		t.Error("a zero expiry expired")
	}
	pex := exception("x", exp, []string{"ownership"})
	if !ExceptionActive(&pex, exp.Add(-time.Second)) || ExceptionActive(&pex, exp) {
		t.Error("ExceptionActive disagrees with Expired")
	}
}

// TestExpiryRuleSameInRego: the DPA at the boundary gives the same answer
// from Dates (Go) as from sensitive-data-dpa (Rego).
func TestExpiryRuleSameInRego(t *testing.T) {
	e := newTestEngine(t, Options{})
	for _, offset := range []time.Duration{-time.Second, 0, time.Second} {
		v := vendor("hubspot", allowingCategories("user"))
		exp := metav1.NewTime(testNow.Add(offset))
		v.Spec.DPA = &v1alpha1.DPA{Signed: true, Expires: &exp}
		std := standard(func(s *v1alpha1.PlatformStandard) {
			s.Spec.SensitiveDataCategories = []v1alpha1.TaxonomyKey{"user.contact"}
		})
		d, err := e.Evaluate(context.Background(), request(integration("newsletter"), withCatalogue(v), withStandard(std)))
		if err != nil {
			t.Fatal(err)
		}
		rego := len(resultsOf(d, "sensitive-data-dpa")) > 0
		goRule := Dates(v, testNow).DPAExpired
		if rego != goRule || goRule != (offset <= 0) {
			t.Errorf("expiry at now%+v: Rego expired %v, Go expired %v", offset, rego, goRule)
		}
	}
}
