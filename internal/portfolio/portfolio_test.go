package portfolio

import (
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func vendor(name, category, status, amount, currency string) *v1alpha1.Vendor {
	v := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Name: name}}
	v.Spec.DisplayName, v.Spec.Category, v.Spec.Status = strings.ToUpper(name), v1alpha1.VendorCategory(category), v1alpha1.VendorStatus(status)
	if amount != "" {
		v.Spec.Contract = &v1alpha1.Contract{AnnualCost: &v1alpha1.Money{Amount: amount, Currency: currency}}
	}
	return v
}

func integration(ns, name, vendor, team, costCenter string, categories ...v1alpha1.TaxonomyKey) *v1alpha1.SaaSIntegration {
	si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	si.Spec.Vendor, si.Spec.CostCenter, si.Spec.DataCategories = vendor, costCenter, categories
	if team != "" {
		si.Spec.Owner = &v1alpha1.Owner{Team: team}
	}
	return si
}

func TestCentsAreExact(t *testing.T) {
	for in, want := range map[string]string{"0": "0.00", "7": "7.00", "12.5": "12.50", "0.01": "0.01", "9999999999999999.99": "9999999999999999.99"} {
		c, err := cents(in)
		if err != nil || formatCents(c) != want {
			t.Errorf("%q: %v %v, want %s", in, c, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.234", "01", "1e3", "0.1.2", "NaN"} {
		if _, err := cents(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// 0.10 + 0.20 is 0.30, not 0.30000000000000004; sixteen-digit sums
	// do not overflow.
	var s Sums
	for _, a := range []string{"0.10", "0.20", "9999999999999999.99", "9999999999999999.99"} {
		c, _ := cents(a)
		s.Add("EUR", c)
	}
	if got := s.Amounts(); len(got) != 1 || got[0].Amount != "20000000000000000.28" {
		t.Errorf("sum %v", got)
	}
}

func TestSplitAddsUp(t *testing.T) {
	shares := split(big.NewInt(100), 3) // 1.00 in three: 0.34, 0.33, 0.33
	var got []string
	sum := new(big.Int)
	for _, s := range shares {
		got = append(got, formatCents(s))
		sum.Add(sum, s)
	}
	if !slices.Equal(got, []string{"0.34", "0.33", "0.33"}) || sum.Int64() != 100 {
		t.Errorf("split %v (sum %v)", got, sum)
	}
}

func TestBuild(t *testing.T) {
	in := Input{
		Vendors: []*v1alpha1.Vendor{
			vendor("crm-a", "crm", "approved", "1000.00", "EUR"),
			vendor("crm-b", "crm", "approved", "100.01", "EUR"),
			vendor("ads", "advertising", "restricted", "50", "USD"),
			vendor("shelf", "cms", "approved", "10", "EUR"),
		},
		Integrations: []*v1alpha1.SaaSIntegration{
			integration("mkt", "a1", "crm-a", "growth", "CC-1", "user.contact.email"),
			integration("mkt", "a2", "crm-a", "brand", "CC-2", "user.financial.bank_account"),
			integration("mkt", "b1", "crm-b", "growth", "CC-1"),
			integration("mkt", "b2", "crm-b", "growth", "CC-3"),
			integration("mkt", "b3", "crm-b", "growth", "CC-2"),
			integration("mkt", "x", "ghost", "", "", "user.device"),
		},
		Workloads: []*v1alpha1.MarketingWorkload{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "mkt", Name: "site"},
			Spec:       v1alpha1.MarketingWorkloadSpec{Integrations: []v1alpha1.IntegrationRef{{Name: "a1"}, {Name: "a2"}, {Name: "missing"}}},
		}},
		VendorDecisions: map[string]*policy.Decision{
			"shelf": {Results: []policy.Result{{Policy: PolicyUnused, Enforcement: "audit", Message: "unused"}}},
		},
		IntegrationDecisions: map[string]*policy.Decision{
			"mkt/b1": {Results: []policy.Result{
				{Policy: PolicyOverlap, Enforcement: "warn", Message: "use crm-a"},
				{Policy: "vendor-data-use", Enforcement: "deny", Message: "no"},
			}},
		},
		Sensitive: func(string) []string { return []string{"user.financial"} },
		Now:       now,
	}
	p, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range p.Rows {
		names = append(names, r.Vendor+"="+r.Status)
	}
	if !slices.Equal(names, []string{"ads=restricted", "crm-a=approved", "crm-b=approved", "ghost=unknown", "shelf=approved"}) {
		t.Fatalf("rows %v", names)
	}
	crmA, crmB := p.Rows[1], p.Rows[2]
	if !slices.Equal(crmA.Teams, []string{"brand", "growth"}) || !slices.Equal(crmA.CostCenters, []string{"CC-1", "CC-2"}) ||
		!slices.Equal(crmA.Workloads, []string{"mkt/site"}) || len(crmA.Integrations) != 2 {
		t.Errorf("crm-a %+v", crmA)
	}
	if !slices.Equal(crmA.DataCategories, []Category{{"user.contact.email", false}, {"user.financial.bank_account", true}}) {
		t.Errorf("categories %v", crmA.DataCategories)
	}
	// Findings are the decisions', deny first; no decision, no finding.
	if len(crmB.Findings) != 2 || crmB.Findings[0].Level != "deny" || crmB.Findings[1].Object != "SaaSIntegration/mkt/b1" || len(crmA.Findings) != 0 {
		t.Errorf("findings %v / %v", crmB.Findings, crmA.Findings)
	}

	s := p.Summary
	if !slices.Equal(s.Total, []Amount{{"EUR", "1110.01"}, {"USD", "50.00"}}) {
		t.Errorf("total %v", s.Total)
	}
	// crm-a 1000.00 split over CC-1, CC-2; crm-b 100.01 over CC-1, CC-2,
	// CC-3 (33.34, 33.34, 33.33); ads and shelf have no cost centre.
	want := []Group{
		{Unattributed, []Amount{{"EUR", "10.00"}, {"USD", "50.00"}}},
		{"CC-1", []Amount{{"EUR", "533.34"}}},
		{"CC-2", []Amount{{"EUR", "533.34"}}},
		{"CC-3", []Amount{{"EUR", "33.33"}}},
	}
	if !slices.EqualFunc(s.ByCostCenter, want, func(a, b Group) bool { return a.Key == b.Key && slices.Equal(a.Totals, b.Totals) }) {
		t.Errorf("by cost centre %v", s.ByCostCenter)
	}
	if len(s.ByCategory) != 3 || s.ByCategory[2].Key != "crm" || s.ByCategory[2].Totals[0].Amount != "1100.01" {
		t.Errorf("by category %v", s.ByCategory)
	}
	if len(s.Overlaps) != 1 || s.Overlaps[0].Category != "crm" || s.Overlaps[0].Vendors[0].Vendor != "crm-b" {
		t.Errorf("overlaps %+v", s.Overlaps)
	}
	if len(s.Unused) != 1 || s.Unused[0].Vendor != "shelf" || !slices.Equal(s.UnusedTotal, []Amount{{"EUR", "10.00"}}) {
		t.Errorf("unused %v %v", s.Unused, s.UnusedTotal)
	}
	if len(s.Restricted) != 1 || !slices.Equal(s.RestrictedTotal, []Amount{{"USD", "50.00"}}) {
		t.Errorf("restricted %v %v", s.Restricted, s.RestrictedTotal)
	}
}

func TestBuildRefusesABadAmount(t *testing.T) {
	_, err := Build(Input{Vendors: []*v1alpha1.Vendor{vendor("v", "crm", "approved", "1,000", "EUR")}})
	if err == nil || !strings.Contains(err.Error(), "Vendor v: spec.contract.annualCost.amount") {
		t.Errorf("err = %v", err)
	}
}

func TestDatesComeFromPolicy(t *testing.T) {
	v := vendor("v", "crm", "approved", "1", "EUR")
	renews := metav1.NewTime(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	days := int32(30)
	v.Spec.Contract.RenewsAt, v.Spec.Contract.NoticeDays, v.Spec.Contract.AutoRenew = &renews, &days, true
	p, err := Build(Input{Vendors: []*v1alpha1.Vendor{v}})
	if err != nil {
		t.Fatal(err)
	}
	at, _ := policy.NoticeBy(v)
	if r := p.Rows[0]; r.NoticeBy != at.Format(time.DateOnly) || r.NoticeBy != "2027-01-30" || r.RenewsAt != "2027-03-01" || !r.AutoRenew {
		t.Errorf("%+v", r)
	}
}
