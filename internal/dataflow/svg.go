package dataflow

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Layout of the SVG: three columns of boxes, top to bottom in graph order,
// each column centred on the tallest; edges are curves from the right side
// of a box to the left side of the next column's box, and an integration's
// edge label sits beside it, where the edge leaves.
const (
	margin      = 24
	boxWidth    = 260
	gapLeft     = 170 // between workloads and integrations
	gapRight    = 360 // between integrations and vendors: room for the labels
	labelRun    = 230 // edges to vendors run straight under their label first
	lineHeight  = 14
	labelHeight = 12
	boxPadding  = 8
	boxGap      = 18
	headerSpace = 40
	fontSize    = 11
	charsPerBox = 40 // characters that fit a box line at fontSize
	charsTitle  = 36 // bold characters that fit a box line
	charsPerGap = 40 // characters that fit a label line (font size 10) in labelRun
	legendSpace = 70
)

// columnX is the left edge of a column.
var columnX = [3]int{margin, margin + boxWidth + gapLeft, margin + 2*boxWidth + gapLeft + gapRight}

// box is a node placed on the canvas.
type box struct {
	id           string
	x, y, w, h   int
	title        []string
	details      []string
	fill, stroke string
	strokeWidth  float64
	dashed       bool
	tooltip      string
	labelLines   []string // of the edge leaving this box (integrations)
}

func (b *box) midY() int { return b.y + b.h/2 }

// layout places every node.
type layout struct {
	width, height int
	columns       [3][]*box
	byID          map[string]*box
}

func newLayout(g *Graph) *layout {
	l := &layout{byID: map[string]*box{}}
	edges := g.Edges()
	labels := map[string][]string{}
	for _, e := range edges {
		if len(e.Label) > 0 {
			labels[e.From] = wrapLines(e.Label, charsPerGap)
		}
	}
	add := func(col int, b *box) {
		h := (len(b.title)+len(b.details))*lineHeight + 2*boxPadding
		// The label above the edge leaving the box must not reach the
		// previous box's label: give the box its height.
		h = max(h, (len(b.labelLines)+1)*labelHeight+2*boxPadding)
		b.w, b.h = boxWidth, h
		b.x = columnX[col]
		l.columns[col] = append(l.columns[col], b)
		l.byID[b.id] = b
	}
	for _, w := range g.Workloads {
		t, d := w.nodeLines()
		add(0, &box{id: w.ID, title: wrapLines([]string{t}, charsTitle), details: wrapLines(d, charsPerBox), fill: "#e3f2fd", stroke: "#1565c0", strokeWidth: 1.2,
			tooltip: fmt.Sprintf("MarketingWorkload %s%s/%s; declares: %s", inCluster(w.Cluster), w.Namespace, w.Name, joinOr(w.Categories, "no data categories"))})
	}
	for _, i := range g.Integrations {
		t, d := i.nodeLines()
		b := &box{id: i.ID, title: wrapLines([]string{t}, charsTitle), details: wrapLines(d, charsPerBox), fill: "#f5f5f5", stroke: "#616161", strokeWidth: 1.2,
			labelLines: labels[i.ID], tooltip: integrationTooltip(i)}
		if !i.Compliant || i.Missing {
			b.fill, b.stroke, b.strokeWidth = "#ffebee", colorNonCompliant, 2.5
		}
		add(1, b)
	}
	for _, v := range g.Vendors {
		t, d := v.nodeLines()
		fill, stroke := vendorStyle(v.Status)
		add(2, &box{id: v.ID, title: wrapLines([]string{t}, charsTitle), details: wrapLines(d, charsPerBox), fill: fill, stroke: stroke, strokeWidth: 1.5,
			dashed: v.Status == StatusUnknown, tooltip: strings.Join(append([]string{fmt.Sprintf("Vendor %s: %s", v.Name, v.Status)}, v.Drift...), ". ")})
	}
	heights := [3]int{}
	tallest := 0
	for c, col := range l.columns {
		for k, b := range col {
			if k > 0 {
				heights[c] += boxGap
			}
			heights[c] += b.h
		}
		tallest = max(tallest, heights[c])
	}
	for c, col := range l.columns {
		y := margin + headerSpace + (tallest-heights[c])/2
		for _, b := range col {
			b.y = y
			y += b.h + boxGap
		}
	}
	l.width = columnX[2] + boxWidth + margin
	l.height = margin + headerSpace + tallest + legendSpace
	return l
}

func integrationTooltip(i *Integration) string {
	var parts []string
	if i.Purpose != "" {
		parts = append(parts, i.Purpose)
	}
	parts = append(parts, i.Violations...)
	parts = append(parts, i.Warnings...)
	for _, w := range i.Waived {
		parts = append(parts, "waived "+w)
	}
	return fmt.Sprintf("SaaSIntegration %s%s/%s. %s", inCluster(i.Cluster), i.Namespace, i.Name, strings.Join(parts, ". "))
}

// inCluster is "prod-eu: " before a namespace/name, or "".
func inCluster(cluster string) string {
	if cluster == "" {
		return ""
	}
	return cluster + ": "
}

func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}

// wrapLines wraps each line at width characters: after a space (dropped),
// or after one of ".,_-/" in a long word; continuation lines are indented.
func wrapLines(lines []string, width int) []string {
	var out []string
	for _, line := range lines {
		runes := []rune(line)
		for len(runes) > width {
			cut, skip := width, 0
			for k := width; k > width/3; k-- {
				if runes[k] == ' ' {
					cut, skip = k, 1
					break
				}
				if strings.ContainsRune(".,_-/", runes[k-1]) {
					cut = k
					break
				}
			}
			out = append(out, strings.TrimRight(string(runes[:cut]), " "))
			runes = append([]rune("  "), runes[cut+skip:]...)
		}
		out = append(out, string(runes))
	}
	return out
}

// WriteSVG writes the map as a standalone SVG image.
func WriteSVG(out io.Writer, g *Graph) error {
	var b strings.Builder
	writeSVG(&b, g, true)
	_, err := io.WriteString(out, b.String())
	return err
}

// writeSVG writes the <svg> element; standalone adds the XML declaration.
func writeSVG(b *strings.Builder, g *Graph, standalone bool) {
	l := newLayout(g)
	if standalone {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="%d" role="img" aria-labelledby="dataflow-title">`+"\n",
		l.width, l.height, l.width, l.height, fontSize)
	b.WriteString(`<title id="dataflow-title">Customer data flows: workloads to SaaS integrations to vendors</title>` + "\n")
	b.WriteString("<defs>\n")
	for _, m := range []struct{ id, color string }{{"arrow", colorEdge}, {"arrow-red", colorNonCompliant}, {"arrow-orange", colorSensitive}} {
		fmt.Fprintf(b, `<marker id="%s" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker>`+"\n", m.id, m.color)
	}
	b.WriteString("</defs>\n")
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", l.width, l.height)
	for c, title := range []string{"Workloads", "SaaS integrations", "Vendors"} {
		x := columnX[c]
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold" fill="#37474f">%s</text>`+"\n", x, margin+16, esc(title))
	}

	// Edges first, so boxes cover their ends.
	b.WriteString(`<g id="edges" fill="none">` + "\n")
	for _, e := range g.Edges() {
		from, to := l.byID[e.From], l.byID[e.To]
		if from == nil || to == nil {
			continue
		}
		color, width := edgeStyle(e)
		marker := "arrow"
		switch color {
		case colorNonCompliant:
			marker = "arrow-red"
		case colorSensitive:
			marker = "arrow-orange"
		}
		x1, y1 := from.x+from.w, from.midY()
		x2, y2 := to.x-2, to.midY()
		straight := ""
		if len(e.Label) > 0 && len(from.labelLines) > 0 {
			// Run straight under the label, then curve to the target.
			straight = fmt.Sprintf(" L %d %d", x1+labelRun, y1)
			x1 += labelRun
		}
		dx := (x2 - x1) / 2
		class := "flow"
		if !e.Compliant {
			class += " noncompliant"
		}
		if e.Sensitive {
			class += " sensitive"
		}
		start := fmt.Sprintf("M %d %d%s", from.x+from.w, y1, straight)
		fmt.Fprintf(b, `<path class="%s" data-from="%s" data-to="%s" d="%s C %d %d, %d %d, %d %d" stroke="%s" stroke-width="%g" marker-end="url(#%s)"/>`+"\n",
			class, e.From, e.To, start, x1+dx, y1, x2-dx, y2, x2, y2, color, width, marker)
	}
	b.WriteString("</g>\n")

	// Edge labels beside the integration boxes.
	b.WriteString(`<g id="edge-labels" font-size="10">` + "\n")
	for _, e := range g.Edges() {
		from := l.byID[e.From]
		if from == nil || len(from.labelLines) == 0 || len(e.Label) == 0 {
			continue
		}
		color, _ := edgeStyle(e)
		if color == colorEdge {
			color = "#455a64"
		}
		lines := from.labelLines
		y0 := from.midY() - 5 - (len(lines)-1)*labelHeight
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">`, from.x+from.w+8, y0, color)
		for k, line := range lines {
			fmt.Fprintf(b, `<tspan x="%d" y="%d">%s</tspan>`, from.x+from.w+8, y0+k*labelHeight, esc(line))
		}
		b.WriteString("</text>\n")
	}
	b.WriteString("</g>\n")

	b.WriteString(`<g id="nodes">` + "\n")
	for _, col := range l.columns {
		for _, bx := range col {
			dash := ""
			if bx.dashed {
				dash = ` stroke-dasharray="5 3"`
			}
			fmt.Fprintf(b, `<g id="%s"><title>%s</title>`, bx.id, esc(bx.tooltip))
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" ry="6" fill="%s" stroke="%s" stroke-width="%g"%s/>`,
				bx.x, bx.y, bx.w, bx.h, bx.fill, bx.stroke, bx.strokeWidth, dash)
			ty := bx.y + boxPadding + lineHeight - 3
			for _, t := range bx.title {
				fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold" fill="#212121">%s</text>`, bx.x+10, ty, esc(t))
				ty += lineHeight
			}
			for _, d := range bx.details {
				fill := "#424242"
				if strings.HasPrefix(d, "NON-COMPLIANT") || strings.HasPrefix(d, "MISSING") {
					fill = colorNonCompliant
				}
				fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`, bx.x+10, ty, fill, esc(d))
				ty += lineHeight
			}
			b.WriteString("</g>\n")
		}
	}
	b.WriteString("</g>\n")

	// Legend.
	y := l.height - legendSpace + 24
	b.WriteString(`<g id="legend" font-size="10" fill="#37474f">` + "\n")
	x := margin
	for _, item := range []struct{ label, color string }{
		{"flow", colorEdge}, {"non-compliant (denied by policy)", colorNonCompliant}, {"sensitive data categories", colorSensitive},
	} {
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y, x+28, y, item.color, x+34, y+4, esc(item.label))
		x += 40 + 6*len(item.label)
	}
	x = margin
	y += 22
	for _, s := range []string{"approved", "restricted", "prohibited", StatusUnknown} {
		fill, stroke := vendorStyle(s)
		label := "vendor " + s
		if s == StatusUnknown {
			label = "vendor not in the catalogue"
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="22" height="12" rx="3" fill="%s" stroke="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y-9, fill, stroke, x+28, y+1, esc(label))
		x += 40 + 6*len(label)
	}
	b.WriteString("</g>\n</svg>\n")
}

// esc escapes text for XML and HTML.
func esc(s string) string { return html.EscapeString(s) }

// InlineSVG returns the map as an <svg> element to embed in an HTML page
// (the portfolio page includes it), without the XML declaration.
func InlineSVG(g *Graph) string {
	var b strings.Builder
	writeSVG(&b, g, false)
	return b.String()
}
