package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/portfolio"
)

func TestPortfolioTextGolden(t *testing.T) {
	r := runCLI(t, nil, "portfolio", "-f", samples, "--now", testNow)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	golden(t, "portfolio/samples.txt", r.stdout)
}

// The portfolio's findings are the engine's: the same results check
// reports on the samples' Vendors and SaaSIntegrations.
func TestPortfolioFindingsAreChecks(t *testing.T) {
	r := runCLI(t, nil, "portfolio", "-f", samples, "--now", testNow, "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	var doc struct {
		Kind    string
		Vendors []struct {
			Vendor     string
			AnnualCost *portfolio.Amount
			NoticeBy   string
			Findings   []portfolio.Finding
		}
		Summary portfolio.Summary
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var got []string
	for _, v := range doc.Vendors {
		for _, f := range v.Findings {
			got = append(got, f.Level+" "+f.Policy+" "+f.Object)
		}
	}
	slices.Sort(got)

	var want []string
	for _, o := range checkReports(t, inputFlags{files: []string{samples}}) {
		if o.Kind != "Vendor" && o.Kind != "SaaSIntegration" {
			continue
		}
		for _, res := range o.Results {
			level := res.Enforcement
			if res.Waived() {
				level = "waived"
			}
			obj := o.Kind + "/" + o.Name
			if o.Namespace != "" {
				obj = o.Kind + "/" + o.Namespace + "/" + o.Name
			}
			want = append(want, level+" "+res.Policy+" "+obj)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("portfolio findings\n%v\ncheck results\n%v", got, want)
	}
	if doc.Kind != "MartechPortfolio" {
		t.Errorf("kind %q", doc.Kind)
	}
	// Totals: EUR 24000 + 0 + 36000 + 9600, USD 18500 + 48000.
	if !slices.Equal(doc.Summary.Total, []portfolio.Amount{{Currency: "EUR", Amount: "69600.00"}, {Currency: "USD", Amount: "66500.00"}}) {
		t.Errorf("total %v", doc.Summary.Total)
	}
	if len(doc.Summary.Unused) != 1 || doc.Summary.Unused[0].Vendor != "optimizely" {
		t.Errorf("unused %v", doc.Summary.Unused)
	}
	if len(doc.Summary.Overlaps) != 1 || doc.Summary.Overlaps[0].Category != "cms" {
		t.Errorf("overlaps %v", doc.Summary.Overlaps)
	}
}

func TestPortfolioCSVAndHTML(t *testing.T) {
	r := runCLI(t, nil, "portfolio", "-f", samples, "--now", testNow, "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	if !slices.Equal(rows[0], portfolio.CSVHeader) || len(rows) != 9 {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}

	r = runCLI(t, nil, "portfolio", "-f", samples, "--now", testNow, "-o", "html")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	doc, err := html.Parse(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	var vendorRows, svgs int
	var external []string
	var walk func(n *html.Node, inVendors bool)
	walk = func(n *html.Node, inVendors bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "table":
				for _, a := range n.Attr {
					if a.Key == "class" && a.Val == "vendors" {
						inVendors = true
					}
				}
			case "tr":
				if inVendors && n.Parent != nil && n.Parent.Data == "tbody" {
					vendorRows++
				}
			case "svg":
				svgs++
			case "script", "link", "img", "iframe":
				external = append(external, n.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inVendors)
		}
	}
	walk(doc, false)
	if vendorRows != 8 || svgs != 1 || len(external) > 0 {
		t.Errorf("%d vendor rows, %d svg, external elements %v", vendorRows, svgs, external)
	}
	wantIn(t, "stdout", r.stdout, r, "@media print", "Optimizely", "vendor-overlap")
}

func TestPortfolioBadInput(t *testing.T) {
	if r := runCLI(t, nil, "portfolio"); r.code != ExitBadInput || !strings.Contains(r.stderr, "no input") {
		t.Errorf("%s", r)
	}
	if r := runCLI(t, nil, "portfolio", "-f", samples, "-o", "pdf"); r.code != ExitBadInput {
		t.Errorf("%s", r)
	}
	if r := runCLI(t, nil, "portfolio", "-f", samples, "--context", "prod"); r.code != ExitBadInput || !strings.Contains(r.stderr, "--context needs --kubeconfig") {
		t.Errorf("%s", r)
	}
	dir := t.TempDir()
	bad := "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata:\n  name: pricey\nspec:\n  displayName: Pricey\n  category: crm\n  status: approved\n  contract:\n    annualCost: {amount: \"12.345\", currency: EUR}\n"
	if err := os.WriteFile(filepath.Join(dir, "v.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "portfolio", "-f", dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "v.yaml:1") || !strings.Contains(r.stderr, "annualCost.amount") {
		t.Errorf("%s", r)
	}
}

func TestDataflowRoPA(t *testing.T) {
	r := runCLI(t, nil, "dataflow", "-f", samples, "--now", testNow, "-o", "ropa")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	if !slices.Equal(rows[0], dataflow.RoPAHeader) || len(rows) != 8 {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	col := func(name string) int { return slices.Index(dataflow.RoPAHeader, name) }
	var hubspot []string
	for _, row := range rows[1:] {
		if row[col("Integration")] == "hubspot-email" {
			hubspot = row
		}
	}
	if hubspot == nil || hubspot[col("Legal basis")] != "consent" || hubspot[col("Retention days")] != "730" ||
		hubspot[col("DPA reference")] == "" || !strings.HasSuffix(hubspot[col("Source")], "06_saasintegrations.yaml:2") {
		t.Errorf("hubspot-email row %v", hubspot)
	}

	r = runCLI(t, nil, "dataflow", "-f", samples, "--now", testNow, "-o", "ropa-json")
	var doc dataflow.RoPA
	if err := json.NewDecoder(bytes.NewReader([]byte(r.stdout))).Decode(&doc); err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(doc.Activities) != 7 {
		t.Errorf("%d activities", len(doc.Activities))
	}
	for _, a := range doc.Activities {
		if a.Integration == "retargeting-pilot" && (!a.OutsideAllowedRegions || a.ProcessingRegion != "us") {
			t.Errorf("retargeting-pilot processes in us, outside eu: %+v", a)
		}
	}
}
