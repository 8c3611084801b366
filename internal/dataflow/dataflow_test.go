package dataflow

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// Builders: small, so each test reads like its scenario.

func workload(ns, name string, integrations ...string) *v1alpha1.MarketingWorkload { //nolint:unparam // any namespace; the cases use one today
	mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mw.Spec.Owner.Team = "growth"
	for _, i := range integrations {
		mw.Spec.Integrations = append(mw.Spec.Integrations, v1alpha1.IntegrationRef{Name: i})
	}
	return mw
}

func integration(ns, name, vendor, use, region string, categories ...string) *v1alpha1.SaaSIntegration { //nolint:unparam // any namespace; the cases use one today
	si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	si.Spec.Vendor = vendor
	si.Spec.DataUse = v1alpha1.TaxonomyKey(use)
	si.Spec.Region = v1alpha1.Region(region)
	si.Spec.DataSubjects = []v1alpha1.TaxonomyKey{"customer"}
	for _, c := range categories {
		si.Spec.DataCategories = append(si.Spec.DataCategories, v1alpha1.TaxonomyKey(c))
	}
	return si
}

func vendor(name, display, status string, dpaExpires string) *v1alpha1.Vendor {
	v := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Name: name}}
	v.Spec.DisplayName = display
	v.Spec.Status = v1alpha1.VendorStatus(status)
	v.Spec.ProcessingRegions = []v1alpha1.Region{"eu"}
	if dpaExpires != "" {
		t, _ := time.Parse(time.RFC3339, dpaExpires)
		v.Spec.DPA = &v1alpha1.DPA{Signed: true, Expires: &metav1.Time{Time: t}}
	}
	return v
}

func denied(ns, name string, policies ...string) *policy.Decision {
	d := &policy.Decision{Kind: v1alpha1.KindSaaSIntegration, Namespace: ns, Name: name}
	for _, p := range policies {
		d.Results = append(d.Results, policy.Result{Policy: p, Enforcement: "deny", Message: p + " says no"})
	}
	return d
}

// scenario: two workloads share an analytics integration; a CRM
// integration sends financial data (sensitive) to a vendor whose DPA
// expired and is denied; one integration is unused; a workload names a
// missing integration; an integration names a vendor missing from the
// catalogue.
func scenario() *Graph {
	return Build(Input{
		Workloads: []*v1alpha1.MarketingWorkload{
			workload("shop", "site", "crm", "analytics"),
			workload("shop", "api", "analytics", "ghost"),
		},
		Integrations: []*v1alpha1.SaaSIntegration{
			integration("shop", "analytics", "ga", "analytics", "eu", "user.behavior"),
			integration("shop", "crm", "payco", "marketing", "eu", "user.financial.credit_card", "user.contact.email"),
			integration("shop", "idle", "shady", "marketing", "us", "user.device.cookie_id"),
		},
		Vendors: []*v1alpha1.Vendor{
			vendor("ga", "Google Analytics 4", "approved", "2027-12-31T00:00:00Z"),
			vendor("payco", `Pay "Co" <Ltd>`, "approved", "2026-06-30T00:00:00Z"),
			vendor("unused", "", "prohibited", ""),
		},
		Verdicts: map[string]*policy.Decision{
			"shop/crm": denied("shop", "crm", "sensitive-data-dpa"),
		},
		Sensitive: func(string) []string { return []string{"user.financial"} },
		Now:       now,
	})
}

func ids[T any](nodes []T, f func(T) string) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, f(n))
	}
	return out
}

func TestBuildOrdersDeterministically(t *testing.T) {
	g := scenario()
	if got, want := ids(g.Workloads, func(w *Workload) string { return w.ID + "=" + w.Name }), []string{"w1=api", "w2=site"}; !slices.Equal(got, want) {
		t.Errorf("workloads %v, want %v", got, want)
	}
	// analytics (used by w1 and w2: mean 0.5), ghost (w1: 0), crm (w2: 1); idle unused last.
	if got, want := ids(g.Integrations, func(i *Integration) string { return i.ID + "=" + i.Name }), []string{"i1=ghost", "i2=analytics", "i3=crm", "i4=idle"}; !slices.Equal(got, want) {
		t.Errorf("integrations %v, want %v", got, want)
	}
	if got, want := ids(g.Vendors, func(v *Vendor) string { return v.ID + "=" + v.Name }), []string{"v1=ga", "v2=payco", "v3=shady", "v4=unused"}; !slices.Equal(got, want) {
		t.Errorf("vendors %v, want %v", got, want)
	}
	for k := 0; k < 3; k++ {
		var a, b bytes.Buffer
		if err := WriteMermaid(&a, scenario()); err != nil {
			t.Fatal(err)
		}
		if err := WriteMermaid(&b, g); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Fatal("two builds of the same input render differently")
		}
	}
}

func TestBuildVerdictsSensitivityAndGaps(t *testing.T) {
	g := scenario()
	byName := map[string]*Integration{}
	for _, i := range g.Integrations {
		byName[i.Name] = i
	}
	if crm := byName["crm"]; crm.Compliant || !slices.Equal(crm.Sensitive, []string{"user.financial.credit_card"}) || len(crm.Violations) != 1 {
		t.Errorf("crm: compliant=%v sensitive=%v violations=%v; want denied, credit card sensitive", crm.Compliant, crm.Sensitive, crm.Violations)
	}
	if a := byName["analytics"]; !a.Compliant || len(a.Sensitive) != 0 {
		t.Errorf("analytics: compliant=%v sensitive=%v", a.Compliant, a.Sensitive)
	}
	if ghost := byName["ghost"]; !ghost.Missing || ghost.Compliant {
		t.Errorf("ghost: missing=%v compliant=%v; want a missing, non-compliant node", ghost.Missing, ghost.Compliant)
	}
	vendors := map[string]*Vendor{}
	for _, v := range g.Vendors {
		vendors[v.Name] = v
	}
	if v := vendors["shady"]; v.Status != StatusUnknown || !v.Used {
		t.Errorf("shady: %+v; want an unknown, used vendor", v)
	}
	if v := vendors["payco"]; v.DPA != "expired 2026-06-30" || v.DPAValid {
		t.Errorf("payco DPA %q valid=%v", v.DPA, v.DPAValid)
	}
	if v := vendors["ga"]; v.DPA != "signed until 2027-12-31" || !v.DPAValid {
		t.Errorf("ga DPA %q", v.DPA)
	}
	if v := vendors["unused"]; v.Used || v.DPA != "none" {
		t.Errorf("unused: %+v", v)
	}

	var flows []string
	for _, f := range g.Flows {
		flows = append(flows, f.Workload+">"+f.Integration+">"+f.Vendor)
	}
	want := []string{">idle>shady", "api>analytics>ga", "api>ghost>", "site>analytics>ga", "site>crm>payco"}
	if !slices.Equal(flows, want) {
		t.Errorf("flows %v, want %v", flows, want)
	}
	edges := g.Edges()
	var red, orange int
	for _, e := range edges {
		if !e.Compliant {
			red++
		}
		if e.Sensitive {
			orange++
		}
	}
	// w1->ghost, w2->crm, crm->payco are non-compliant; w2->crm and crm->payco sensitive.
	if red != 3 || orange != 2 {
		t.Errorf("%d non-compliant and %d sensitive edges, want 3 and 2: %+v", red, orange, edges)
	}
}

func TestMermaidHighlightsAndEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMermaid(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"flowchart LR",
		`Pay #quot;Co#quot; #lt;Ltd#gt; (payco)`,
		"class i1,i3 noncompliant",
		"class v3 unknown",
		"linkStyle ",
		"data: user.financial.credit_card (sensitive), user.contact.email",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"Co"`) {
		t.Error("mermaid label quotes are not escaped")
	}
}

func TestDOTEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDOT(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `Pay \"Co\" <Ltd> (payco)`) {
		t.Errorf("DOT label not escaped:\n%s", out)
	}
	if !strings.HasPrefix(strings.SplitN(out, "\n", 2)[1], "digraph dataflow {") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("not a digraph:\n%s", out)
	}
	edges := regexp.MustCompile(`(?m)^  [wiv]\d+ -> [wiv]\d+`).FindAllString(out, -1)
	if len(edges) != len(scenario().Edges()) {
		t.Errorf("DOT has %d edges, want %d:\n%s", len(edges), len(scenario().Edges()), out)
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader) {
		t.Errorf("header %v", rows[0])
	}
	if len(rows) != 1+len(scenario().Flows) {
		t.Fatalf("%d rows, want %d", len(rows), 1+len(scenario().Flows))
	}
	crm := rows[len(rows)-1]
	want := []string{"shop", "site", "crm", "payco", "approved", "marketing", "user.financial.credit_card;user.contact.email", "customer", "eu", "expired 2026-06-30", "false", ""}
	if !slices.Equal(crm, want) {
		t.Errorf("crm row %v, want %v", crm, want)
	}
}

// names every workload and vendor of the scenario.
var scenarioNames = []string{"site", "api", "ga", "payco", "shady", "unused"}

func TestSVGIsXMLAndNamesEveryNode(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	text := xmlText(t, b.Bytes())
	for _, name := range scenarioNames {
		if !strings.Contains(text, name) {
			t.Errorf("the SVG does not name %q", name)
		}
	}
	if !strings.Contains(b.String(), `class="flow noncompliant sensitive"`) {
		t.Error("the SVG does not mark the non-compliant sensitive flow")
	}
}

// xmlText parses doc as XML and returns its character data.
func xmlText(t *testing.T, doc []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.CharData:
			text.Write(tk)
		case xml.StartElement:
			for _, a := range tk.Attr {
				text.WriteString(" " + a.Value + " ")
			}
		}
	}
	return text.String()
}

func TestHTMLParsesAndIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, scenario()); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var svg, table, external int
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data + " ")
		case html.ElementNode:
			switch n.Data {
			case "svg":
				svg++
			case "table":
				table++
			case "script", "link", "img", "iframe":
				external++
			}
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" {
					external++
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if svg != 1 || table != 1 || external != 0 {
		t.Errorf("svg=%d table=%d external references=%d; want one inline SVG, one table, nothing external", svg, table, external)
	}
	for _, name := range scenarioNames {
		if !strings.Contains(text.String(), name) {
			t.Errorf("the page does not name %q", name)
		}
	}
	if !strings.Contains(text.String(), "sensitive-data-dpa says no") {
		t.Error("the page does not list the findings")
	}
}

func TestWrapLines(t *testing.T) {
	got := wrapLines([]string{"data: user.behavior.browsing_history, user.device.cookie_id"}, 40)
	for _, l := range got {
		if n := len([]rune(l)); n > 40 {
			t.Errorf("line %q is %d long", l, n)
		}
	}
	if strings.Join(got, "") != "data: user.behavior.browsing_history,  user.device.cookie_id" {
		t.Errorf("wrapped %q", got)
	}
	long := wrapLines([]string{strings.Repeat("x", 100)}, 40)
	if len(long) != 3 {
		t.Errorf("a long word wraps into %d lines: %q", len(long), long)
	}
}

// A DPA expiry outside the supported range is not valid, as
// sensitive-data-dpa reports it ("cannot be judged").
func TestDPAOutsideTheSupportedRange(t *testing.T) {
	for _, s := range []string{"1600-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
		exp, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		at := metav1.NewTime(exp)
		v := &v1alpha1.Vendor{Spec: v1alpha1.VendorSpec{DPA: &v1alpha1.DPA{Signed: true, Expires: &at}}}
		text, valid := dpaText(v, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		if valid || text != "expiry "+s+" outside the supported range" {
			t.Errorf("dpaText(%s) = %q, %v; want not valid, outside the supported range", s, text, valid)
		}
	}
}
