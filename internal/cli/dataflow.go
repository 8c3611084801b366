package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

const dataflowUsage = `
Usage: guardrails dataflow [flags] [-f PATH ... | --kubeconfig FILE [--context NAME ...]]

Draw the customer data-flow map: which MarketingWorkloads send which data,
through which SaaSIntegrations, to which Vendors. Edges to vendors carry the
data use, the data categories and the processing region; vendors show their
status, regions and DPA. Integrations the policy engine denies, and their
edges, are red; flows with data categories the PlatformStandard lists as
sensitive are orange.

Read manifests (-f, as for check; every object is drawn, not only those
given with -f) or a live cluster (--kubeconfig, read only: lists the
martech.guardrails.dev kinds, Namespaces and Secret metadata).
--context repeated draws a fleet: workloads, integrations, flows and
records name their cluster, each judged by its own cluster's engine, and
a vendor is one node (the first context's catalogue entry, with the
fields another cluster's catalogue gives differently). A context that
cannot be read stops the command (exit 2).

Formats: mermaid and dot (text for Mermaid or Graphviz), svg and html
(laid out by guardrails, readable as they are; html is one self-contained
page with the graph, the table of flows and the findings), csv (one row
per flow), and ropa and ropa-json: the record of processing activities of
GDPR Article 30 (one row per SaaSIntegration: purpose, data use, legal
basis, data categories and subjects, recipient, processing region and
whether it leaves the standard's allowed regions, DPA, retention, owner,
source), as CSV or JSON.`

const dataflowExamples = `  # Mermaid for a pull request or a wiki page
  guardrails dataflow -f config/samples -o mermaid

  # A page for the DPO, and a spreadsheet
  guardrails dataflow -f manifests/ -o html > dataflow.html
  guardrails dataflow -f manifests/ -o csv > dataflow.csv

  # The record of processing (GDPR Art. 30) for the DPO's spreadsheet
  guardrails dataflow -f manifests/ -o ropa > ropa.csv

  # From the cluster in the current kubeconfig context
  guardrails dataflow --kubeconfig ~/.kube/config -o svg > dataflow.svg

  # The record of processing of a fleet: one row per integration per cluster
  guardrails dataflow --kubeconfig ~/.kube/config --context prod-eu --context prod-us -o ropa > ropa.csv`

func runDataflow(e *env, args []string) int {
	f := newFlags("dataflow", dataflowUsage, dataflowExamples)
	var in viewFlags
	in.register(f)
	format := choice{value: "mermaid", allowed: []string{"mermaid", "dot", "svg", "html", "csv", "ropa", "ropa-json"}}
	f.Var(&format, "o", "output `FORMAT`: mermaid, dot, svg, html, csv, ropa (record of processing, CSV) or ropa-json")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	ctx := context.Background()
	sources, code, ok := in.load(ctx, e, f, "dataflow", pos, true)
	if !ok {
		return code
	}
	g, err := buildGraph(ctx, sources, in.now.value())
	if err != nil {
		fmt.Fprintf(e.stderr, "guardrails dataflow: %s\n", report.Quote(err.Error()))
		return ExitBadInput
	}
	render := map[string]func(io.Writer, *dataflow.Graph) error{
		"mermaid":   dataflow.WriteMermaid,
		"dot":       dataflow.WriteDOT,
		"svg":       dataflow.WriteSVG,
		"html":      dataflow.WriteHTML,
		"csv":       dataflow.WriteCSV,
		"ropa":      dataflow.WriteRoPACSV,
		"ropa-json": dataflow.WriteRoPAJSON,
	}[format.value]
	if err := render(e.stdout, g); err != nil {
		fmt.Fprintf(e.stderr, "guardrails dataflow: %s\n", report.Quote(err.Error()))
		return ExitBadInput
	}
	return ExitOK
}

// buildGraph draws the sources (files, one cluster, or each cluster of a
// fleet): every workload, integration and vendor, with each source's
// engine's decision on each of its integrations.
func buildGraph(ctx context.Context, sources []source, now time.Time) (*dataflow.Graph, error) {
	parts := make([]dataflow.Input, 0, len(sources))
	for _, s := range sources {
		var integrations []*manifest.Item
		position := map[string]string{}
		for _, it := range s.world.Items() {
			if it.Kind == v1alpha1.KindSaaSIntegration {
				integrations = append(integrations, it)
				if si, ok := it.Object.(*v1alpha1.SaaSIntegration); ok {
					position[si.Namespace+"/"+si.Name] = it.Pos()
				}
			}
		}
		verdicts := make(map[string]*policy.Decision, len(integrations))
		err := evaluateStream(ctx, s.eng, s.world, integrations, now, func(_ *manifest.Item, d *policy.Decision) error {
			verdicts[d.Namespace+"/"+d.Name] = d
			return nil
		})
		if err != nil {
			return nil, s.named(err)
		}
		parts = append(parts, graphInput(ctx, s, verdicts, position, now))
	}
	return dataflow.BuildFleet(parts), nil
}

// graphInput is what the map draws of one source, with the engine's
// decisions on its integrations (keyed "namespace/name"); position maps
// them to file:line.
func graphInput(ctx context.Context, s source, verdicts map[string]*policy.Decision, position map[string]string, now time.Time) dataflow.Input {
	w := s.world
	return dataflow.Input{
		Workloads:    manifest.Objects[*v1alpha1.MarketingWorkload](w),
		Integrations: manifest.Objects[*v1alpha1.SaaSIntegration](w),
		Vendors:      manifest.Objects[*v1alpha1.Vendor](w),
		Verdicts:     verdicts,
		Sensitive:    func(namespace string) []string { return sensitiveFor(ctx, w, namespace) },
		AllowedRegions: func(namespace string) []string {
			return policy.AllowedRegions(w.StandardFor(ctx, namespace))
		},
		Source:  func(namespace, name string) string { return position[namespace+"/"+name] },
		Cluster: s.cluster,
		Now:     now,
	}
}
