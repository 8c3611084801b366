package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/portfolio"
	"github.com/martech-guardrails/guardrails/internal/report"
)

const portfolioUsage = `
Usage: guardrails portfolio [flags] [-f PATH ... | --kubeconfig FILE [--context NAME ...]]

Show the martech portfolio: one row per Vendor with its category, status,
business owner, annual cost, renewal and notice deadline, DPA and security
review expiry, the teams and cost centres whose SaaSIntegrations use it,
its integrations and workloads, the data categories it receives (sensitive
ones marked) and what the policy engine finds about it and its integrations
(vendor-renewal, vendor-overlap, vendor-unused, every deny and warn).

Below the rows: annual cost per currency by category and by cost centre (a
vendor's cost is split evenly among the cost centres of the integrations
using it; a cost none claims is "(unattributed)"), the categories with
overlapping approved vendors, the unused vendors and what they cost, and the
spend on restricted or prohibited vendors. Findings are the engine's, as
guardrails check reports them; the view computes none.

Read manifests (-f, as for check) or a live cluster (--kubeconfig, read
only); --context repeated reads a fleet, one cluster per context, each
judged by its own engine. A vendor several clusters hold is one row, with
what each cluster uses it for; its catalogue fields and cost are those of
the first context holding it (counted once in the totals), and a field on
which another cluster's catalogue differs is shown as drift, with each
cluster's value. A context that cannot be read stops the command (exit 2).

Formats: text, json, csv (one row per vendor) and html (one
self-contained, printable page with the data-flow map).`

const portfolioExamples = `  # The portfolio of a directory of manifests
  guardrails portfolio -f config/samples

  # A page for the CIO and a spreadsheet for procurement
  guardrails portfolio -f manifests/ -o html > portfolio.html
  guardrails portfolio -f manifests/ -o csv > portfolio.csv

  # From the cluster in the current kubeconfig context
  guardrails portfolio --kubeconfig ~/.kube/config -o json

  # A fleet: one row per vendor across two clusters
  guardrails portfolio --kubeconfig ~/.kube/config --context prod-eu --context prod-us -o html > portfolio.html`

func runPortfolio(e *env, args []string) int {
	f := newFlags("portfolio", portfolioUsage, portfolioExamples)
	var in viewFlags
	in.register(f)
	format := choice{value: "text", allowed: []string{"text", "json", "csv", "html"}}
	f.Var(&format, "o", "output `FORMAT`: text, json, csv or html")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	ctx := context.Background()
	sources, code, ok := in.load(ctx, e, f, "portfolio", pos, true)
	if !ok {
		return code
	}
	now := in.now.value()
	p, graphs, err := buildPortfolio(ctx, sources, now)
	if err != nil {
		fmt.Fprintf(e.stderr, "guardrails portfolio: %s\n", report.Quote(err.Error()))
		return ExitBadInput
	}
	switch format.value {
	case "json":
		err = portfolio.WriteJSON(e.stdout, p)
	case "csv":
		err = portfolio.WriteCSV(e.stdout, p)
	case "html":
		err = portfolio.WriteHTML(e.stdout, p, dataflow.BuildFleet(graphs))
	default:
		err = portfolio.WriteText(e.stdout, p)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "guardrails portfolio: writing the portfolio: %v\n", err)
		return ExitBadInput
	}
	return ExitOK
}

// buildPortfolio evaluates every Vendor and SaaSIntegration of each source
// through the source's engine, as check does (evaluateStream, operation
// CHECK), and builds one portfolio from the decisions; graphs are the
// sources' data-flow inputs with the same decisions, for the page's map.
func buildPortfolio(ctx context.Context, sources []source, now time.Time) (*portfolio.Portfolio, []dataflow.Input, error) {
	parts := make([]portfolio.Input, 0, len(sources))
	graphs := make([]dataflow.Input, 0, len(sources))
	for _, s := range sources {
		w := s.world
		vendors, integrations := map[string]*policy.Decision{}, map[string]*policy.Decision{}
		position, vendorPosition := map[string]string{}, map[string]string{}
		var items []*manifest.Item
		for _, it := range w.Items() {
			switch o := it.Object.(type) {
			case *v1alpha1.Vendor:
				items = append(items, it)
				vendorPosition[o.Name] = it.Pos()
			case *v1alpha1.SaaSIntegration:
				items = append(items, it)
				position[o.Namespace+"/"+o.Name] = it.Pos()
			}
		}
		err := evaluateStream(ctx, s.eng, w, items, now, func(it *manifest.Item, d *policy.Decision) error {
			if it.Kind == v1alpha1.KindVendor {
				vendors[d.Name] = d
			} else {
				integrations[d.Namespace+"/"+d.Name] = d
			}
			return nil
		})
		if err != nil {
			return nil, nil, s.named(err)
		}
		parts = append(parts, portfolio.Input{
			Vendors:              manifest.Objects[*v1alpha1.Vendor](w),
			Integrations:         manifest.Objects[*v1alpha1.SaaSIntegration](w),
			Workloads:            manifest.Objects[*v1alpha1.MarketingWorkload](w),
			VendorDecisions:      vendors,
			IntegrationDecisions: integrations,
			Sensitive:            func(namespace string) []string { return sensitiveFor(ctx, w, namespace) },
			Source:               func(name string) string { return vendorPosition[name] },
			Cluster:              s.cluster,
			Now:                  now,
		})
		graphs = append(graphs, graphInput(ctx, s, integrations, position, now))
	}
	p, err := portfolio.BuildFleet(parts)
	return p, graphs, err
}

// sensitiveFor is the sensitive data categories of the standard in force
// in namespace.
func sensitiveFor(ctx context.Context, w *manifest.World, namespace string) []string {
	std := w.StandardFor(ctx, namespace)
	if std == nil {
		return nil
	}
	out := make([]string, len(std.Spec.SensitiveDataCategories))
	for i, k := range std.Spec.SensitiveDataCategories {
		out[i] = string(k)
	}
	return out
}
