package portfolio

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/dataflow"
)

// categoriesText is "user.contact.email, user.financial (sensitive)".
func categoriesText(cs []Category) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Key
		if c.Sensitive {
			parts[i] += " (sensitive)"
		}
	}
	return strings.Join(parts, ", ")
}

func costText(a *Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}

func integrationsText(n int) string {
	if n == 1 {
		return "1 integration"
	}
	return fmt.Sprintf("%d integrations", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func listOrDash(s []string) string { return orDash(strings.Join(s, ", ")) }

func findingText(f Finding) string {
	if len(f.Clusters) > 0 {
		return fmt.Sprintf("%s %s %s (in %s): %s", f.Level, f.Policy, f.Object, strings.Join(f.Clusters, ", "), f.Message)
	}
	return fmt.Sprintf("%s %s %s: %s", f.Level, f.Policy, f.Object, f.Message)
}

// usageText is what a cluster uses a vendor for, on one line:
// "3 integrations (mkt/a, ...) · teams ... · cost centres ... · workloads ...".
func usageText(u Usage) string {
	var parts []string
	if !u.InCatalogue {
		parts = append(parts, "not in its catalogue")
	}
	parts = append(parts, integrationsText(len(u.Integrations)))
	if len(u.Integrations) > 0 {
		parts[len(parts)-1] += " (" + strings.Join(u.Integrations, ", ") + ")"
	}
	parts = append(parts, "teams "+listOrDash(u.Teams), "cost centres "+listOrDash(u.CostCenters), "workloads "+listOrDash(u.Workloads))
	return strings.Join(parts, " · ")
}

// driftText is "status: prod-eu approved, prod-us restricted".
func driftText(d Drift) string {
	parts := make([]string, len(d.Values))
	for i, v := range d.Values {
		parts[i] = v.Cluster + " " + v.Value
	}
	return d.Field + ": " + strings.Join(parts, ", ")
}

// clustersText is " in 2 clusters (prod-eu, prod-us)", or "" for none.
func clustersText(cs []string) string {
	switch len(cs) {
	case 0:
		return ""
	case 1:
		return " in cluster " + cs[0]
	}
	return fmt.Sprintf(" in %d clusters (%s)", len(cs), strings.Join(cs, ", "))
}

// WriteText writes the portfolio for a terminal: a block per vendor, then
// the summary. The caller's writer quotes control characters (the CLI's
// report.Terminal).
func WriteText(out io.Writer, p *Portfolio) error {
	var b strings.Builder
	when := ""
	if !p.Now.IsZero() {
		when = " as of " + p.Now.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "Martech portfolio%s: %d vendors%s\n", when, len(p.Rows), clustersText(p.Clusters))
	for _, r := range p.Rows {
		title := r.Vendor
		if r.DisplayName != "" && r.DisplayName != r.Vendor {
			title = r.DisplayName + " (" + r.Vendor + ")"
		}
		fmt.Fprintf(&b, "\n%s · %s · %s\n", title, orDash(r.Category), r.Status)
		if len(r.Clusters) > 0 {
			fmt.Fprintf(&b, "  clusters:     %s\n", strings.Join(r.Clusters, ", "))
		}
		owner := r.OwnerTeam
		if r.OwnerContact != "" {
			owner = strings.TrimSpace(owner + " <" + r.OwnerContact + ">")
		}
		fmt.Fprintf(&b, "  owner:        %s\n", orDash(owner))
		auto := ""
		if r.AutoRenew {
			auto = " (auto-renews)"
		}
		fmt.Fprintf(&b, "  annual cost:  %s\n", costText(r.AnnualCost))
		fmt.Fprintf(&b, "  renews:       %s%s · notice by %s\n", orDash(r.RenewsAt), auto, orDash(r.NoticeBy))
		fmt.Fprintf(&b, "  DPA expires:  %s · security review expires %s\n", orDash(r.DPAExpires), orDash(r.SecurityReviewExpires))
		fmt.Fprintf(&b, "  teams:        %s · cost centres %s\n", listOrDash(r.Teams), listOrDash(r.CostCenters))
		fmt.Fprintf(&b, "  integrations: %d %s\n", len(r.Integrations), orDash(strings.Join(r.Integrations, ", ")))
		fmt.Fprintf(&b, "  workloads:    %s\n", listOrDash(r.Workloads))
		fmt.Fprintf(&b, "  data:         %s\n", orDash(categoriesText(r.DataCategories)))
		for _, u := range r.Usage {
			fmt.Fprintf(&b, "  in %s: %s\n", u.Cluster, usageText(u))
		}
		for _, d := range r.Drift {
			fmt.Fprintf(&b, "  DRIFT %s\n", driftText(d))
		}
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  %s\n", findingText(f))
		}
	}
	s := p.Summary
	fmt.Fprintf(&b, "\nAnnual cost: %s\n", joinAmounts(s.Total))
	b.WriteString("By category:\n")
	for _, g := range s.ByCategory {
		fmt.Fprintf(&b, "  %-20s %s\n", g.Key, joinAmounts(g.Totals))
	}
	b.WriteString("By cost centre (a vendor's cost split evenly among the cost centres of its integrations):\n")
	for _, g := range s.ByCostCenter {
		fmt.Fprintf(&b, "  %-20s %s\n", g.Key, joinAmounts(g.Totals))
	}
	b.WriteString("Overlapping categories (vendor-overlap):\n")
	if len(s.Overlaps) == 0 {
		b.WriteString("  none\n")
	}
	for _, o := range s.Overlaps {
		parts := make([]string, len(o.Vendors))
		for i, v := range o.Vendors {
			parts[i] = fmt.Sprintf("%s (%s, %s)", v.Vendor, integrationsText(v.Integrations), costText(v.AnnualCost))
		}
		fmt.Fprintf(&b, "  %s: %s\n", o.Category, strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "Unused vendors (vendor-unused): %s\n", joinAmounts(s.UnusedTotal))
	for _, l := range s.Unused {
		fmt.Fprintf(&b, "  %s %s\n", l.Vendor, costText(l.AnnualCost))
	}
	fmt.Fprintf(&b, "Spend on restricted or prohibited vendors: %s\n", joinAmounts(s.RestrictedTotal))
	for _, l := range s.Restricted {
		fmt.Fprintf(&b, "  %s (%s) %s\n", l.Vendor, l.Status, costText(l.AnnualCost))
	}
	if len(p.Clusters) > 1 {
		b.WriteString("Catalogue drift between clusters (a row shows the first cluster's entry):\n")
		if len(s.Drift) == 0 {
			b.WriteString("  none\n")
		}
		for _, d := range s.Drift {
			fmt.Fprintf(&b, "  %s: %s\n", d.Vendor, strings.Join(d.Fields, ", "))
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// Document is the JSON document of WriteJSON.
type Document struct {
	Kind string `json:"kind"` // MartechPortfolio
	// Date is the instant the portfolio was drawn at (RFC 3339).
	Date string `json:"date,omitempty"`
	*Portfolio
}

// WriteJSON writes the portfolio as one JSON document.
func WriteJSON(out io.Writer, p *Portfolio) error {
	doc := Document{Kind: "MartechPortfolio", Portfolio: p}
	if !p.Now.IsZero() {
		doc.Date = p.Now.UTC().Format(time.RFC3339)
	}
	if doc.Rows == nil {
		doc.Rows = []Row{}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{
	"Vendor", "Display name", "Category", "Status", "Owner team", "Owner contact",
	"Annual cost", "Currency", "Renews", "Auto-renew", "Notice by", "DPA expires", "Security review expires",
	"Teams", "Cost centres", "Integrations", "Integration names", "Workloads",
	"Data categories", "Sensitive data categories", "Findings", "Source",
	"Clusters", "Usage by cluster", "Catalogue drift",
}

// WriteCSV writes one row per vendor (RFC 4180; lists joined with "; ";
// cells a spreadsheet would read as formulas prefixed with a quote). The
// summary is not in the CSV: a spreadsheet sums the columns, and the JSON
// carries the totals. The last three columns (clusters, usage by cluster,
// catalogue drift) are empty unless the sources are named clusters: the
// columns are the same for files and a fleet.
func WriteCSV(out io.Writer, p *Portfolio) error {
	w := csv.NewWriter(out)
	if err := w.Write(CSVHeader); err != nil {
		return err
	}
	for _, r := range p.Rows {
		amount, currency := "", ""
		if r.AnnualCost != nil {
			amount, currency = r.AnnualCost.Amount, r.AnnualCost.Currency
		}
		var all, sensitive, fs []string
		for _, c := range r.DataCategories {
			all = append(all, c.Key)
			if c.Sensitive {
				sensitive = append(sensitive, c.Key)
			}
		}
		for _, f := range r.Findings {
			fs = append(fs, findingText(f))
		}
		var usage, drift []string
		for _, u := range r.Usage {
			usage = append(usage, u.Cluster+": "+usageText(u))
		}
		for _, d := range r.Drift {
			drift = append(drift, driftText(d))
		}
		row := []string{
			r.Vendor, r.DisplayName, r.Category, r.Status, r.OwnerTeam, r.OwnerContact,
			amount, currency, r.RenewsAt, strconv.FormatBool(r.AutoRenew), r.NoticeBy, r.DPAExpires, r.SecurityReviewExpires,
			strings.Join(r.Teams, "; "), strings.Join(r.CostCenters, "; "), strconv.Itoa(len(r.Integrations)),
			strings.Join(r.Integrations, "; "), strings.Join(r.Workloads, "; "),
			strings.Join(all, "; "), strings.Join(sensitive, "; "), strings.Join(fs, "; "), r.Source,
			strings.Join(r.Clusters, "; "), strings.Join(usage, "; "), strings.Join(drift, "; "),
		}
		for i := range row {
			row[i] = dataflow.SafeCell(row[i])
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

const pageStyle = dataflow.BasePageStyle + `td.num { text-align: right; white-space: nowrap; }
table.vendors { width: 100%; }
table.vendors td { overflow-wrap: anywhere; }
tr.restricted td { background: #fff8e1; }
tr.prohibited td, tr.unknown td { background: #ffebee; }
span.sensitive { color: #e65100; font-weight: bold; }
span.deny, span.error { color: #c62828; font-weight: bold; }
span.warn { color: #ef6c00; font-weight: bold; }
ul.findings { margin: 0; padding-left: 16px; }
div.drift { color: #6a1b9a; font-weight: bold; margin-top: 4px; }
@media print {
  body { margin: 0; font-size: 10px; }
  table { font-size: 9px; width: 100%; }
  tr, li { page-break-inside: avoid; break-inside: avoid; }
  thead { display: table-header-group; }
  div.graph { overflow: visible; border: none; page-break-before: always; break-before: page; }
  div.graph svg { max-width: 100%; height: auto; }
  tr.restricted td, tr.prohibited td, tr.unknown td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`

func esc(s string) string { return html.EscapeString(s) }

// WriteHTML writes one self-contained page (no scripts, no external
// resources, printable): the vendor table, the summary and, when m is not
// nil, the data-flow map as inline SVG.
func WriteHTML(out io.Writer, p *Portfolio, m *dataflow.Graph) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<title>Martech portfolio</title>\n<style>" + pageStyle + "</style>\n</head>\n<body>\n")
	b.WriteString("<h1>Martech portfolio</h1>\n")
	when := ""
	if !p.Now.IsZero() {
		when = " · as of " + p.Now.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "<p class=\"meta\">%d vendors%s · annual cost %s%s · generated by guardrails portfolio</p>\n",
		len(p.Rows), esc(clustersText(p.Clusters)), esc(joinAmounts(p.Summary.Total)), esc(when))

	fleet := len(p.Clusters) > 0
	b.WriteString("<h2>Vendors</h2>\n<table class=\"vendors\">\n<thead><tr>")
	headers := []string{"vendor", "category", "status", "business owner", "annual cost", "renews", "notice by", "DPA expires", "security review expires", "teams", "cost centres", "integrations", "workloads", "data categories", "findings"}
	if fleet {
		headers = slices.Insert(headers, 1, "clusters")
	}
	for _, h := range headers {
		fmt.Fprintf(&b, "<th>%s</th>", esc(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range p.Rows {
		fmt.Fprintf(&b, "<tr class=\"%s\">", esc(r.Status))
		name := esc(r.Vendor)
		if r.DisplayName != "" && r.DisplayName != r.Vendor {
			name = esc(r.DisplayName) + "<br>(" + esc(r.Vendor) + ")"
		}
		for _, d := range r.Drift {
			name += "<div class=\"drift\">differs between clusters: " + esc(driftText(d)) + "</div>"
		}
		owner := esc(r.OwnerTeam)
		if r.OwnerContact != "" {
			owner += "<br>" + esc(r.OwnerContact)
		}
		renews := esc(orDash(r.RenewsAt))
		if r.AutoRenew {
			renews += " (auto)"
		}
		cats := make([]string, len(r.DataCategories))
		for i, c := range r.DataCategories {
			cats[i] = esc(c.Key)
			if c.Sensitive {
				cats[i] = "<span class=\"sensitive\">" + cats[i] + " (sensitive)</span>"
			}
		}
		var fs strings.Builder
		if len(r.Findings) > 0 {
			fs.WriteString("<ul class=\"findings\">")
			for _, f := range r.Findings {
				fmt.Fprintf(&fs, "<li><span class=\"%s\">%s</span> %s %s: %s</li>", esc(f.Level), esc(f.Level), esc(f.Policy), esc(f.Object), esc(f.Message))
			}
			fs.WriteString("</ul>")
		}
		cells := []string{
			name, esc(orDash(r.Category)), esc(r.Status), owner, "", renews, esc(orDash(r.NoticeBy)),
			esc(orDash(r.DPAExpires)), esc(orDash(r.SecurityReviewExpires)), esc(strings.Join(r.Teams, ", ")),
			esc(strings.Join(r.CostCenters, ", ")), fmt.Sprintf("%d", len(r.Integrations)), esc(strings.Join(r.Workloads, ", ")),
			strings.Join(cats, ", "), fs.String(),
		}
		if fleet {
			var uses []string
			for _, u := range r.Usage {
				line := esc(u.Cluster) + ": " + integrationsText(len(u.Integrations))
				if !u.InCatalogue {
					line += " (not in its catalogue)"
				}
				uses = append(uses, line)
			}
			cells = slices.Insert(cells, 1, strings.Join(uses, "<br>"))
		}
		costCell := 4
		if fleet {
			costCell = 5
		}
		for i, c := range cells {
			if i == costCell {
				fmt.Fprintf(&b, "<td class=\"num\">%s</td>", esc(costText(r.AnnualCost)))
				continue
			}
			fmt.Fprintf(&b, "<td>%s</td>", c)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")

	s := p.Summary
	writeGroups := func(title, key string, gs []Group) {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table>\n<thead><tr><th>%s</th><th>annual cost</th></tr></thead>\n<tbody>\n", esc(title), esc(key))
		for _, g := range gs {
			fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"num\">%s</td></tr>\n", esc(g.Key), esc(joinAmounts(g.Totals)))
		}
		fmt.Fprintf(&b, "<tr><th>total</th><th class=\"num\">%s</th></tr>\n</tbody>\n</table>\n", esc(joinAmounts(s.Total)))
	}
	writeGroups("Annual cost by category", "category", s.ByCategory)
	writeGroups("Annual cost by cost centre", "cost centre", s.ByCostCenter)
	b.WriteString("<p class=\"meta\">A vendor's cost is split evenly among the cost centres of the SaaSIntegrations using it; a cost no integration's cost centre claims is (unattributed).</p>\n")

	b.WriteString("<h2>Overlapping categories</h2>\n")
	if len(s.Overlaps) == 0 {
		b.WriteString("<p>The engine found no overlapping approved vendors (vendor-overlap).</p>\n")
	} else {
		b.WriteString("<ul>\n")
		for _, o := range s.Overlaps {
			parts := make([]string, len(o.Vendors))
			for i, v := range o.Vendors {
				parts[i] = fmt.Sprintf("%s (%s, %s)", esc(v.Vendor), integrationsText(v.Integrations), esc(costText(v.AnnualCost)))
			}
			fmt.Fprintf(&b, "<li>%s: %s</li>\n", esc(o.Category), strings.Join(parts, ", "))
		}
		b.WriteString("</ul>\n")
	}
	costList := func(title string, total []Amount, lines []CostLine, none string) {
		fmt.Fprintf(&b, "<h2>%s: %s</h2>\n", esc(title), esc(joinAmounts(total)))
		if len(lines) == 0 {
			fmt.Fprintf(&b, "<p>%s</p>\n", esc(none))
			return
		}
		b.WriteString("<ul>\n")
		for _, l := range lines {
			fmt.Fprintf(&b, "<li>%s (%s) %s</li>\n", esc(l.Vendor), esc(l.Status), esc(costText(l.AnnualCost)))
		}
		b.WriteString("</ul>\n")
	}
	costList("Unused vendors", s.UnusedTotal, s.Unused, "The engine found no unused vendor (vendor-unused).")
	costList("Spend on restricted or prohibited vendors", s.RestrictedTotal, s.Restricted, "No restricted or prohibited vendor has a contract cost.")
	if len(p.Clusters) > 1 {
		b.WriteString("<h2>Catalogue drift between clusters</h2>\n")
		if len(s.Drift) == 0 {
			b.WriteString("<p>Every cluster's catalogue holds the same entry for each vendor.</p>\n")
		} else {
			b.WriteString("<p class=\"meta\">A vendor's row shows the entry of the first cluster (in the order of --context) whose catalogue holds it; its annual cost is counted once.</p>\n<ul>\n")
			for _, d := range s.Drift {
				fmt.Fprintf(&b, "<li>%s: %s</li>\n", esc(d.Vendor), esc(strings.Join(d.Fields, ", ")))
			}
			b.WriteString("</ul>\n")
		}
	}

	if m != nil {
		b.WriteString("<h2>Customer data flows</h2>\n<div class=\"graph\">\n")
		b.WriteString(dataflow.InlineSVG(m))
		b.WriteString("</div>\n")
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(out, b.String())
	return err
}
