package dataflow

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// fleetScenario: two clusters with the same workload and integration
// names; the catalogue of us marks payco restricted and lacks ga; the
// crm integration is denied in eu only.
func fleetScenario() *Graph {
	part := func(cluster string, vendors []*v1alpha1.Vendor, verdicts map[string]*policy.Decision) Input {
		return Input{
			Cluster:   cluster,
			Workloads: []*v1alpha1.MarketingWorkload{workload("shop", "site", "crm", "analytics")},
			Integrations: []*v1alpha1.SaaSIntegration{
				integration("shop", "analytics", "ga", "analytics", "eu", "user.behavior"),
				integration("shop", "crm", "payco", "marketing", "eu", "user.contact.email"),
			},
			Vendors:   vendors,
			Verdicts:  verdicts,
			Sensitive: func(string) []string { return nil },
			Source:    func(_, _ string) string { return "cluster" },
			Now:       now,
		}
	}
	restricted := vendor("payco", "Pay Co", "restricted", "2027-06-30T00:00:00Z")
	return BuildFleet([]Input{
		part("eu", []*v1alpha1.Vendor{vendor("ga", "GA4", "approved", ""), vendor("payco", "Pay Co", "approved", "2027-06-30T00:00:00Z")},
			map[string]*policy.Decision{"shop/crm": denied("shop", "crm", "vendor-data-use")}),
		part("us", []*v1alpha1.Vendor{restricted}, nil),
	})
}

func TestFleetKeepsClustersApartAndMergesVendors(t *testing.T) {
	g := fleetScenario()
	if !slices.Equal(g.Clusters, []string{"eu", "us"}) {
		t.Errorf("clusters %v", g.Clusters)
	}
	if got := ids(g.Workloads, func(w *Workload) string { return w.Cluster + "/" + w.Name }); !slices.Equal(got, []string{"eu/site", "us/site"}) {
		t.Errorf("workloads %v", got)
	}
	// The same namespace/name in two clusters: two integrations, each
	// with its own cluster's verdict.
	compliant := map[string]bool{}
	for _, i := range g.Integrations {
		compliant[i.Cluster+"/"+i.Key()] = i.Compliant
	}
	if len(g.Integrations) != 4 || compliant["eu/shop/crm"] || !compliant["us/shop/crm"] {
		t.Errorf("integrations %v", compliant)
	}
	// One node per vendor; payco's drift (status) and ga's (absent from
	// us) are named, the node shows the first cluster's entry.
	byName := map[string]*Vendor{}
	for _, v := range g.Vendors {
		byName[v.Name] = v
	}
	if len(g.Vendors) != 2 || byName["payco"].Status != "approved" {
		t.Fatalf("vendors %v", ids(g.Vendors, func(v *Vendor) string { return v.Name + "=" + v.Status }))
	}
	if !slices.Equal(byName["payco"].Drift, []string{"status: eu approved, us restricted"}) {
		t.Errorf("payco drift %q", byName["payco"].Drift)
	}
	if !slices.Equal(byName["ga"].Drift, []string{"inCatalogue: eu true, us false"}) {
		t.Errorf("ga drift %q", byName["ga"].Drift)
	}
	// Each edge leaves its own cluster's workload for its own cluster's
	// integration.
	byID := map[string]string{}
	for _, w := range g.Workloads {
		byID[w.ID] = w.Cluster
	}
	for _, i := range g.Integrations {
		byID[i.ID] = i.Cluster
	}
	edges := 0
	for _, e := range g.Edges() {
		if strings.HasPrefix(e.From, "w") {
			edges++
			if byID[e.From] != byID[e.To] {
				t.Errorf("edge %s -> %s crosses clusters", e.From, e.To)
			}
		}
	}
	if edges != 4 {
		t.Errorf("%d workload edges, want 4", edges)
	}
	// Flows and records name their cluster and read its own catalogue.
	var flows []string
	for _, f := range g.Flows {
		flows = append(flows, f.Cluster+" "+f.Integration+" "+f.VendorStatus)
	}
	if want := []string{"eu analytics approved", "eu crm approved", "us analytics unknown", "us crm restricted"}; !slices.Equal(flows, want) {
		t.Errorf("flows %v, want %v", flows, want)
	}
	var recs []string
	for _, r := range g.Records {
		recs = append(recs, r.Cluster+" "+r.Activity+" "+r.RecipientStatus+" "+yesNo(r.Compliant))
	}
	if want := []string{"eu shop/analytics approved yes", "eu shop/crm approved no", "us shop/analytics unknown yes", "us shop/crm restricted yes"}; !slices.Equal(recs, want) {
		t.Errorf("records %v, want %v", recs, want)
	}
}

func TestFleetRenderings(t *testing.T) {
	g := fleetScenario()
	var b bytes.Buffer
	if err := WriteCSV(&b, g); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(CSVHeader) - 1
	if CSVHeader[last] != "cluster" || len(rows) != 5 || rows[1][last] != "eu" || rows[4][last] != "us" {
		t.Errorf("csv %v", rows)
	}
	b.Reset()
	if err := WriteMermaid(&b, g); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cluster: eu", "cluster: us", "DIFFERS between clusters: status"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("mermaid lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteHTML(&b, g); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<th>cluster</th>", "clusters: eu, us", "Catalogue drift between clusters", "status: eu approved, us restricted", "deny</span> eu: shop/crm"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	b.Reset()
	if err := WriteRoPACSV(&b, g); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[1][1] != "eu" || rows[3][1] != "us" || rows[3][0] != "shop/analytics" {
		t.Errorf("ropa %v", rows)
	}
}

// One input keeps its output: no cluster line, no drift.
func TestOneSourceHasNoClusterLines(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMermaid(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "cluster:") || strings.Contains(b.String(), "DIFFERS") {
		t.Errorf("mermaid of files:\n%s", b.String())
	}
}
