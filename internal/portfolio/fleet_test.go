package portfolio

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// fleet: eu and us hold the same crm and shelf Vendors (GitOps); us's
// contract for crm says another amount; shelf is unused in eu only; cms
// is in eu's catalogue only; both clusters have an integration mkt/a1
// (the same name, two objects).
func fleet() []Input {
	unused := &policy.Decision{Results: []policy.Result{{Policy: PolicyUnused, Enforcement: "audit", Message: "unused"}}}
	renewal := &policy.Decision{Results: []policy.Result{{Policy: PolicyRenewal, Enforcement: "warn", Message: "renew soon"}}}
	eu := Input{
		Cluster: "eu",
		Vendors: []*v1alpha1.Vendor{
			vendor("crm", "crm", "approved", "1000.00", "EUR"),
			vendor("shelf", "cms", "approved", "10", "EUR"),
			vendor("cms", "cms", "approved", "5", "EUR"),
		},
		Integrations: []*v1alpha1.SaaSIntegration{
			integration("mkt", "a1", "crm", "growth", "CC-1", "user.contact.email"),
			integration("mkt", "c1", "cms", "brand", "CC-2"),
		},
		Workloads: []*v1alpha1.MarketingWorkload{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "mkt", Name: "site"},
			Spec:       v1alpha1.MarketingWorkloadSpec{Integrations: []v1alpha1.IntegrationRef{{Name: "a1"}}},
		}},
		VendorDecisions: map[string]*policy.Decision{"shelf": unused, "crm": renewal},
		Now:             now,
	}
	us := Input{
		Cluster: "us",
		Vendors: []*v1alpha1.Vendor{
			vendor("crm", "crm", "approved", "1200.00", "EUR"),
			vendor("shelf", "cms", "approved", "10", "EUR"),
		},
		Integrations: []*v1alpha1.SaaSIntegration{
			integration("mkt", "a1", "crm", "retail", "CC-3", "user.financial"),
			integration("mkt", "s1", "shelf", "retail", "CC-3"),
		},
		VendorDecisions: map[string]*policy.Decision{"crm": renewal},
		Sensitive:       func(string) []string { return []string{"user.financial"} },
		Now:             now,
	}
	return []Input{eu, us}
}

func TestFleetMergesVendorsAndKeepsUsage(t *testing.T) {
	p, err := BuildFleet(fleet())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Clusters, []string{"eu", "us"}) {
		t.Errorf("clusters %v", p.Clusters)
	}
	rows := map[string]Row{}
	for _, r := range p.Rows {
		rows[r.Vendor] = r
	}
	if len(p.Rows) != 3 {
		t.Fatalf("rows %v", p.Rows)
	}
	crm := rows["crm"]
	// One row, both clusters, usage per cluster, the first cluster's
	// contract shown and the other's named.
	if !slices.Equal(crm.Clusters, []string{"eu", "us"}) || crm.AnnualCost.Amount != "1000.00" {
		t.Errorf("crm %+v", crm)
	}
	if len(crm.Usage) != 2 || !slices.Equal(crm.Usage[0].Teams, []string{"growth"}) || !slices.Equal(crm.Usage[1].CostCenters, []string{"CC-3"}) ||
		!slices.Equal(crm.Usage[0].Workloads, []string{"mkt/site"}) || len(crm.Usage[1].Workloads) != 0 {
		t.Errorf("crm usage %+v", crm.Usage)
	}
	if !slices.Equal(crm.Integrations, []string{"eu/mkt/a1", "us/mkt/a1"}) || !slices.Equal(crm.Teams, []string{"growth", "retail"}) ||
		!slices.Equal(crm.CostCenters, []string{"CC-1", "CC-3"}) || !slices.Equal(crm.Workloads, []string{"eu/mkt/site"}) {
		t.Errorf("crm union %v %v %v %v", crm.Integrations, crm.Teams, crm.CostCenters, crm.Workloads)
	}
	if !slices.Equal(crm.DataCategories, []Category{{"user.contact.email", false}, {"user.financial", true}}) {
		t.Errorf("crm categories %v", crm.DataCategories)
	}
	if len(crm.Drift) != 1 || crm.Drift[0].Field != "annualCost" ||
		!slices.Equal(crm.Drift[0].Values, []ClusterValue{{"eu", "EUR 1000.00"}, {"us", "EUR 1200.00"}}) {
		t.Errorf("crm drift %+v", crm.Drift)
	}
	// The same finding from both engines is listed once, with both.
	if len(crm.Findings) != 1 || !slices.Equal(crm.Findings[0].Clusters, []string{"eu", "us"}) {
		t.Errorf("crm findings %+v", crm.Findings)
	}
	// cms: in eu's catalogue only.
	if d := rows["cms"].Drift; len(d) != 1 || d[0].Field != "inCatalogue" || d[0].Values[1] != (ClusterValue{"us", "false"}) {
		t.Errorf("cms drift %+v", d)
	}
	// shelf: unused in eu, used in us: not shelfware of the fleet; eu's
	// finding stays in the row.
	shelf := rows["shelf"]
	if len(shelf.Findings) != 1 || !slices.Equal(shelf.Findings[0].Clusters, []string{"eu"}) || len(p.Summary.Unused) != 0 {
		t.Errorf("shelf %+v, unused %v", shelf.Findings, p.Summary.Unused)
	}

	// Totals count each vendor once: 1000 + 10 + 5.
	if !slices.Equal(p.Summary.Total, []Amount{{"EUR", "1015.00"}}) {
		t.Errorf("total %v", p.Summary.Total)
	}
	var sum Sums
	for _, g := range p.Summary.ByCostCenter {
		c, _ := cents(g.Totals[0].Amount)
		sum.Add("EUR", c)
	}
	if got := sum.Amounts(); !slices.Equal(got, p.Summary.Total) {
		t.Errorf("cost centres add up to %v, total %v", got, p.Summary.Total)
	}
	if !slices.EqualFunc(p.Summary.Drift, []DriftLine{{"cms", []string{"inCatalogue"}}, {"crm", []string{"annualCost"}}},
		func(a, b DriftLine) bool { return a.Vendor == b.Vendor && slices.Equal(a.Fields, b.Fields) }) {
		t.Errorf("summary drift %+v", p.Summary.Drift)
	}
}

func TestFleetUnusedEverywhere(t *testing.T) {
	parts := fleet()
	parts[1].Integrations = parts[1].Integrations[:1] // us no longer uses shelf
	parts[1].VendorDecisions["shelf"] = parts[0].VendorDecisions["shelf"]
	p, err := BuildFleet(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Summary.Unused) != 1 || p.Summary.Unused[0].Vendor != "shelf" || !slices.Equal(p.Summary.UnusedTotal, []Amount{{"EUR", "10.00"}}) {
		t.Errorf("unused %v %v", p.Summary.Unused, p.Summary.UnusedTotal)
	}
}

func TestFleetRenderings(t *testing.T) {
	p, err := BuildFleet(fleet())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"3 vendors in 2 clusters (eu, us)",
		"  clusters:     eu, us",
		"  in eu: 1 integration (mkt/a1) · teams growth · cost centres CC-1 · workloads mkt/site",
		"  DRIFT annualCost: eu EUR 1000.00, us EUR 1200.00",
		"warn vendor-renewal Vendor/crm (in eu, us): renew soon",
		"Catalogue drift between clusters (a row shows the first cluster's entry):\n  cms: inCatalogue\n  crm: annualCost",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	// cms: us neither holds nor uses it, so it has no usage line there.
	if strings.Contains(b.String(), "in us: 0 integrations") {
		t.Errorf("a cluster that neither holds nor uses a vendor has a usage line:\n%s", b.String())
	}
	b.Reset()
	if err := WriteCSV(&b, p); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(CSVHeader, name) }
	crm := rows[2]
	if crm[0] != "crm" || crm[col("Clusters")] != "eu; us" || !strings.Contains(crm[col("Usage by cluster")], "us: 1 integration (mkt/a1)") ||
		crm[col("Catalogue drift")] != "annualCost: eu EUR 1000.00, us EUR 1200.00" {
		t.Errorf("csv crm row %q", crm)
	}
	b.Reset()
	if err := WriteHTML(&b, p, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<th>clusters</th>", "differs between clusters: annualCost: eu EUR 1000.00, us EUR 1200.00", "Catalogue drift between clusters"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

// Files (no cluster names): no cluster fields, the CSV's fleet columns
// empty.
func TestOneSourceHasNoClusterFields(t *testing.T) {
	parts := fleet()
	parts[0].Cluster = ""
	p, err := Build(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rows {
		if r.Clusters != nil || r.Usage != nil || r.Drift != nil || strings.Contains(strings.Join(r.Integrations, " "), "eu/") {
			t.Errorf("row %+v", r)
		}
		for _, f := range r.Findings {
			if f.Clusters != nil {
				t.Errorf("finding %+v", f)
			}
		}
	}
	if len(p.Summary.Unused) != 1 || p.Clusters != nil {
		t.Errorf("unused %v clusters %v", p.Summary.Unused, p.Clusters)
	}
}
