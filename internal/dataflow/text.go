package dataflow

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Colours shared by the renderers.
const (
	colorEdge         = "#78909c"
	colorNonCompliant = "#c62828"
	colorSensitive    = "#ef6c00"
)

// vendorStyle is the fill and stroke of a vendor node by status.
func vendorStyle(status string) (fill, stroke string) {
	switch status {
	case "approved":
		return "#e8f5e9", "#2e7d32"
	case "restricted":
		return "#fff8e1", "#f9a825"
	case "prohibited":
		return "#ffebee", "#c62828"
	}
	return "#eeeeee", "#757575"
}

// edgeStyle returns the colour and width of an edge.
func edgeStyle(e Edge) (color string, width float64) {
	switch {
	case !e.Compliant && e.Sensitive:
		return colorNonCompliant, 3.5
	case !e.Compliant:
		return colorNonCompliant, 2.5
	case e.Sensitive:
		return colorSensitive, 2.5
	}
	return colorEdge, 1.5
}

// WriteMermaid writes the map as a Mermaid flowchart: three subgraphs
// (workloads, integrations, vendors); non-compliant integrations and their
// edges in red, sensitive flows in orange, vendors coloured by status.
func WriteMermaid(out io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("%% Customer data flows: workloads -> SaaS integrations -> vendors (guardrails dataflow)\n")
	b.WriteString("%% red: non-compliant (the policy engine denies the integration); orange: sensitive data categories\n")
	b.WriteString("flowchart LR\n")
	node := func(id, title string, details []string) {
		lines := append([]string{"<b>" + mermaidText(title) + "</b>"}, mapStrings(details, mermaidText)...)
		fmt.Fprintf(&b, "    %s[\"%s\"]\n", id, strings.Join(lines, "<br/>"))
	}
	b.WriteString("  subgraph workloads [\"Workloads\"]\n    direction TB\n")
	for _, w := range g.Workloads {
		t, d := w.nodeLines()
		node(w.ID, t, d)
	}
	b.WriteString("  end\n  subgraph integrations [\"SaaS integrations\"]\n    direction TB\n")
	for _, i := range g.Integrations {
		t, d := i.nodeLines()
		node(i.ID, t, d)
	}
	b.WriteString("  end\n  subgraph vendors [\"Vendors\"]\n    direction TB\n")
	for _, v := range g.Vendors {
		t, d := v.nodeLines()
		node(v.ID, t, d)
	}
	b.WriteString("  end\n")

	edges := g.Edges()
	var red, orange, red2 []string
	for n, e := range edges {
		if len(e.Label) > 0 {
			fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", e.From, strings.Join(mapStrings(e.Label, mermaidText), "<br/>"), e.To)
		} else {
			fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
		}
		switch {
		case !e.Compliant && e.Sensitive:
			red2 = append(red2, strconv.Itoa(n))
		case !e.Compliant:
			red = append(red, strconv.Itoa(n))
		case e.Sensitive:
			orange = append(orange, strconv.Itoa(n))
		}
	}

	b.WriteString("  classDef workload fill:#e3f2fd,stroke:#1565c0\n")
	b.WriteString("  classDef integration fill:#f5f5f5,stroke:#616161\n")
	fmt.Fprintf(&b, "  classDef noncompliant fill:#ffebee,stroke:%s,stroke-width:3px\n", colorNonCompliant)
	for _, s := range []string{"approved", "restricted", "prohibited", StatusUnknown} {
		fill, stroke := vendorStyle(s)
		extra := ""
		if s == StatusUnknown {
			extra = ",stroke-dasharray:4 3"
		}
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s%s\n", s, fill, stroke, extra)
	}
	class := func(name string, ids []string) {
		if len(ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), name)
		}
	}
	var wl, ok, nc []string
	for _, w := range g.Workloads {
		wl = append(wl, w.ID)
	}
	for _, i := range g.Integrations {
		if i.Compliant && !i.Missing {
			ok = append(ok, i.ID)
		} else {
			nc = append(nc, i.ID)
		}
	}
	class("workload", wl)
	class("integration", ok)
	class("noncompliant", nc)
	byStatus := map[string][]string{}
	for _, v := range g.Vendors {
		s := v.Status
		if _, stroke := vendorStyle(s); stroke == "#757575" {
			s = StatusUnknown
		}
		byStatus[s] = append(byStatus[s], v.ID)
	}
	for _, s := range []string{"approved", "restricted", "prohibited", StatusUnknown} {
		class(s, byStatus[s])
	}
	link := func(ids []string, style string) {
		if len(ids) > 0 {
			fmt.Fprintf(&b, "  linkStyle %s %s\n", strings.Join(ids, ","), style)
		}
	}
	link(orange, "stroke:"+colorSensitive+",stroke-width:3px")
	link(red, "stroke:"+colorNonCompliant+",stroke-width:3px")
	link(red2, "stroke:"+colorNonCompliant+",stroke-width:4px")
	_, err := io.WriteString(out, b.String())
	return err
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ")
	return r.Replace(s)
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// WriteDOT writes the map as a Graphviz digraph (render it with
// `dot -Tsvg`): one cluster per column, the same colours as Mermaid.
func WriteDOT(out io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("// Customer data flows: workloads -> SaaS integrations -> vendors (guardrails dataflow)\n")
	b.WriteString("digraph dataflow {\n")
	b.WriteString("  rankdir=LR;\n  newrank=true;\n  nodesep=0.3;\n  ranksep=1.6;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fillcolor=\"#ffffff\", color=\"#616161\"];\n")
	fmt.Fprintf(&b, "  edge [fontname=\"Helvetica\", fontsize=9, color=%q];\n", colorEdge)
	node := func(id, title string, details []string, attrs string) {
		label := strings.Join(append([]string{dotText(title)}, mapStrings(details, dotText)...), `\n`)
		fmt.Fprintf(&b, "    %s [label=\"%s\"%s];\n", id, label, attrs)
	}
	b.WriteString("  subgraph cluster_workloads {\n    label=\"Workloads\";\n    style=dashed;\n    color=\"#90a4ae\";\n")
	for _, w := range g.Workloads {
		t, d := w.nodeLines()
		node(w.ID, t, d, `, fillcolor="#e3f2fd", color="#1565c0"`)
	}
	b.WriteString("  }\n  subgraph cluster_integrations {\n    label=\"SaaS integrations\";\n    style=dashed;\n    color=\"#90a4ae\";\n")
	for _, i := range g.Integrations {
		t, d := i.nodeLines()
		attrs := `, fillcolor="#f5f5f5"`
		if !i.Compliant || i.Missing {
			attrs = fmt.Sprintf(`, fillcolor="#ffebee", color=%q, penwidth=2.5`, colorNonCompliant)
		}
		node(i.ID, t, d, attrs)
	}
	b.WriteString("  }\n  subgraph cluster_vendors {\n    label=\"Vendors\";\n    style=dashed;\n    color=\"#90a4ae\";\n")
	for _, v := range g.Vendors {
		t, d := v.nodeLines()
		fill, stroke := vendorStyle(v.Status)
		attrs := fmt.Sprintf(`, fillcolor=%q, color=%q`, fill, stroke)
		if v.Status == StatusUnknown {
			attrs += `, style="rounded,filled,dashed"`
		}
		node(v.ID, t, d, attrs)
	}
	b.WriteString("  }\n")
	for _, e := range g.Edges() {
		var attrs []string
		if len(e.Label) > 0 {
			attrs = append(attrs, fmt.Sprintf("label=\"%s\"", strings.Join(mapStrings(e.Label, dotText), `\l`)+`\l`))
		}
		if color, width := edgeStyle(e); color != colorEdge {
			attrs = append(attrs, fmt.Sprintf("color=%q", color), fmt.Sprintf("fontcolor=%q", color), fmt.Sprintf("penwidth=%g", width))
		}
		if len(attrs) > 0 {
			fmt.Fprintf(&b, "  %s -> %s [%s];\n", e.From, e.To, strings.Join(attrs, ", "))
		} else {
			fmt.Fprintf(&b, "  %s -> %s;\n", e.From, e.To)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(out, b.String())
	return err
}

// dotText escapes text for a quoted DOT string.
func dotText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"namespace", "workload", "integration", "vendor", "vendor_status", "data_use",
	"categories", "subjects", "region", "dpa", "compliant", "cluster"}

// WriteCSV writes one row per flow; categories and subjects are
// ";"-joined. cluster is the flow's cluster, empty for files or the
// current context (the columns are the same for files and a fleet).
func WriteCSV(out io.Writer, g *Graph) error {
	w := csv.NewWriter(out)
	if err := w.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range g.Flows {
		row := []string{f.Namespace, f.Workload, f.Integration, f.Vendor, f.VendorStatus, f.DataUse,
			strings.Join(f.Categories, ";"), strings.Join(f.Subjects, ";"), f.Region, f.DPA,
			strconv.FormatBool(f.Compliant), f.Cluster}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
