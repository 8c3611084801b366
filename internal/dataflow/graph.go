// Package dataflow draws the customer data-flow map a privacy team asks for:
// which workloads send which customer data, through which SaaS
// integrations, to which vendors, for what use and where it is processed.
//
// Build turns typed objects and the policy engine's decisions on the
// integrations into a Graph; the renderers write it as Mermaid, Graphviz
// DOT, SVG, a self-contained HTML page or CSV. SVG and HTML are laid out
// here (three columns, deterministic order), so they need no other tool.
package dataflow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// Input is what the map is drawn from.
type Input struct {
	Workloads    []*v1alpha1.MarketingWorkload
	Integrations []*v1alpha1.SaaSIntegration
	Vendors      []*v1alpha1.Vendor
	// Verdicts are the engine's decisions on the integrations, keyed by
	// "namespace/name". An integration without one counts as compliant.
	Verdicts map[string]*policy.Decision
	// Sensitive returns the sensitive data categories of the
	// PlatformStandard in force in a namespace; nil means none.
	Sensitive func(namespace string) []string
	// AllowedRegions returns the allowed regions of the PlatformStandard
	// in force in a namespace (policy.AllowedRegions); nil means any. Only
	// the record of processing reads it.
	AllowedRegions func(namespace string) []string
	// Source returns where a SaaSIntegration is declared (file:line, or
	// cluster), for the record of processing; nil leaves it out.
	Source func(namespace, name string) string
	// Cluster names the cluster the objects were read from, if any.
	Cluster string
	// Now dates DPA expiry.
	Now time.Time
}

// Vendor statuses beyond the API's approved, restricted and prohibited.
const (
	// StatusUnknown is the status of a vendor an integration names but the
	// catalogue does not hold.
	StatusUnknown = "unknown"
)

// Graph is the data-flow map: three columns of nodes and the flows
// between them. Nodes are in layout order (see Build).
type Graph struct {
	Workloads    []*Workload
	Integrations []*Integration
	Vendors      []*Vendor
	Flows        []Flow // by cluster, namespace, workload, integration
	// Records are the processing activities (one per SaaSIntegration
	// among the inputs), by cluster, namespace and name: the record of
	// processing.
	Records []Record
	// Clusters are the named clusters drawn, in the order of the inputs;
	// none for files or the current context.
	Clusters []string
	Now      time.Time
}

// Workload is a MarketingWorkload.
type Workload struct {
	ID         string // w1, w2, ... in layout order
	Cluster    string // the input's Cluster
	Namespace  string
	Name       string
	Team       string
	Host       string // exposure.host, if exposed
	Categories []string
	refs       []string // integration names, in spec order
	part       int      // index of the input
}

// Integration is a SaaSIntegration, or one a workload names that is not
// among the inputs (Missing).
type Integration struct {
	ID         string // i1, i2, ...
	Cluster    string // the input's Cluster
	Namespace  string
	Name       string
	Vendor     string
	Purpose    string
	DataUse    string
	Categories []string
	Subjects   []string
	Region     string
	Missing    bool
	// Sensitive are the categories within (or containing) one of the
	// standard's sensitiveDataCategories.
	Sensitive []string
	// Compliant is the engine's verdict: no deny result an exception does
	// not waive. Violations are those results, Warnings the warn results,
	// as "policy: message".
	Compliant  bool
	Violations []string
	Warnings   []string
	// Waived are the results a PolicyException waives, as
	// "policy: message (PolicyException namespace/name until date)".
	Waived []string
	order  int // position in Graph.Integrations
	part   int // index of the input
}

// Key is "namespace/name".
func (i *Integration) Key() string { return i.Namespace + "/" + i.Name }

// nodeKey names an integration among several inputs (clusters).
type nodeKey struct {
	part            int
	namespace, name string
}

func (i *Integration) nodeKey() nodeKey { return nodeKey{i.part, i.Namespace, i.Name} }

// Vendor is a Vendor of the catalogue, or one an integration names that the
// catalogue does not hold (Status "unknown").
type Vendor struct {
	ID          string // v1, v2, ...
	Name        string
	DisplayName string
	Category    string
	Status      string // approved, restricted, prohibited or unknown
	Regions     []string
	DPA         string // e.g. "signed until 2028-03-31", "expired 2025-06-30", "not signed"
	DPAValid    bool
	Used        bool // some integration sends data to it
	// Drift are the fields on which the clusters' catalogues disagree
	// about the vendor, as "status: prod-eu approved, prod-us restricted";
	// the node shows the first cluster's entry.
	Drift []string
}

// Label is "Display Name (name)", or the name.
func (v *Vendor) Label() string {
	if v.DisplayName == "" || v.DisplayName == v.Name {
		return v.Name
	}
	return v.DisplayName + " (" + v.Name + ")"
}

// Flow is one route of customer data: a workload (or none, for an
// integration no workload uses) through an integration to a vendor.
type Flow struct {
	Cluster      string
	Namespace    string
	Workload     string // "" when no workload uses the integration
	Integration  string
	Vendor       string
	VendorStatus string
	DataUse      string
	Categories   []string
	Subjects     []string
	Region       string
	DPA          string
	Compliant    bool
	Sensitive    bool
}

// Edge is an arrow of the map.
type Edge struct {
	From, To  string // node IDs
	Label     []string
	Compliant bool
	Sensitive bool
}

// Build draws the map of one input. Workloads are ordered by namespace
// and name; integrations by the mean position of the workloads using them
// (unused ones last), then by namespace and name; vendors likewise by their
// integrations, catalogue vendors no integration uses last. The order only
// depends on the inputs, so renderings are stable.
func Build(in Input) *Graph { return BuildFleet([]Input{in}) }

// BuildFleet draws one map of several inputs, each a cluster named by its
// Input.Cluster: workloads and integrations are each cluster's (ordered by
// cluster in the order given, then as Build orders them), a vendor is one
// node whatever the number of clusters sending it data. The node shows the
// first input's catalogue entry; the fields on which the other clusters'
// entries differ are in its Drift. Each flow and record reads the vendor
// of its own cluster's catalogue (unknown where that catalogue lacks it).
func BuildFleet(parts []Input) *Graph {
	g := &Graph{}
	if len(parts) > 0 {
		g.Now = parts[0].Now
	}
	for _, in := range parts {
		if in.Cluster != "" {
			g.Clusters = append(g.Clusters, in.Cluster)
		}
	}
	for k, in := range parts {
		for _, mw := range in.Workloads {
			w := &Workload{Cluster: in.Cluster, part: k, Namespace: mw.Namespace, Name: mw.Name, Team: mw.Spec.Owner.Team}
			if mw.Spec.Exposure != nil {
				w.Host = string(mw.Spec.Exposure.Host)
			}
			for _, c := range mw.Spec.DataCategories {
				w.Categories = append(w.Categories, string(c))
			}
			for _, ref := range mw.Spec.Integrations {
				if !slices.Contains(w.refs, ref.Name) {
					w.refs = append(w.refs, ref.Name)
				}
			}
			g.Workloads = append(g.Workloads, w)
		}
	}
	slices.SortFunc(g.Workloads, func(a, b *Workload) int {
		return cmp.Or(cmp.Compare(a.part, b.part), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})

	integrations := map[nodeKey]*Integration{}
	for k, in := range parts {
		for _, si := range in.Integrations {
			i := &Integration{
				Cluster: in.Cluster, part: k,
				Namespace: si.Namespace, Name: si.Name, Vendor: si.Spec.Vendor, Purpose: si.Spec.Purpose,
				DataUse: string(si.Spec.DataUse), Region: string(si.Spec.Region), Compliant: true,
				Categories: keys(si.Spec.DataCategories), Subjects: keys(si.Spec.DataSubjects),
			}
			if d := in.Verdicts[i.Key()]; d != nil {
				for _, r := range d.Denies() {
					i.Violations = append(i.Violations, r.Policy+": "+r.Message)
				}
				for _, r := range d.Warnings() {
					i.Warnings = append(i.Warnings, r.Policy+": "+r.Message)
				}
				for _, r := range d.Waived() {
					i.Waived = append(i.Waived, fmt.Sprintf("%s: %s (PolicyException %s until %s)",
						r.Policy, r.Message, r.Exception, r.Exception.ExpiresAt.UTC().Format(time.DateOnly)))
				}
				i.Compliant = len(i.Violations) == 0
			}
			if in.Sensitive != nil {
				i.Sensitive = policy.SensitiveCategories(i.Categories, in.Sensitive(i.Namespace))
			}
			integrations[i.nodeKey()] = i
		}
	}
	// Integrations the workloads name that are not among the inputs.
	for _, w := range g.Workloads {
		for _, name := range w.refs {
			k := nodeKey{w.part, w.Namespace, name}
			if integrations[k] == nil {
				integrations[k] = &Integration{Cluster: w.Cluster, part: w.part, Namespace: w.Namespace, Name: name, Missing: true,
					Violations: []string{fmt.Sprintf("the SaaSIntegration %s/%s does not exist", w.Namespace, name)}}
			}
		}
	}

	// Vendors: each input's catalogue, and one node per name (the first
	// input's entry).
	own := make([]map[string]*Vendor, len(parts))
	vendors := map[string]*Vendor{}
	for k, in := range parts {
		own[k] = make(map[string]*Vendor, len(in.Vendors))
		for _, v := range in.Vendors {
			nv := newVendor(v, in.Now)
			own[k][v.Name] = nv
			if vendors[v.Name] == nil {
				node := *nv
				vendors[v.Name] = &node
			}
		}
	}
	for _, i := range integrations {
		if i.Vendor == "" {
			continue
		}
		v := vendors[i.Vendor]
		if v == nil {
			v = unknownVendor(i.Vendor)
			vendors[i.Vendor] = v
		}
		v.Used = true
	}
	if len(g.Clusters) > 1 {
		for name, v := range vendors {
			v.Drift = vendorDrift(name, parts, own)
		}
	}

	// Layout order: integrations by the mean rank of their workloads.
	rank := map[nodeKey][]int{}
	for wi, w := range g.Workloads {
		w.ID = fmt.Sprintf("w%d", wi+1)
		for _, name := range w.refs {
			k := nodeKey{w.part, w.Namespace, name}
			rank[k] = append(rank[k], wi)
		}
	}
	for _, i := range integrations {
		g.Integrations = append(g.Integrations, i)
	}
	sortByRank(g.Integrations, func(i *Integration) []int { return rank[i.nodeKey()] }, func(a, b *Integration) int {
		return cmp.Or(cmp.Compare(a.part, b.part), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	vrank := map[string][]int{}
	for ii, i := range g.Integrations {
		i.ID, i.order = fmt.Sprintf("i%d", ii+1), ii
		if i.Vendor != "" {
			vrank[i.Vendor] = append(vrank[i.Vendor], ii)
		}
	}
	for _, v := range vendors {
		g.Vendors = append(g.Vendors, v)
	}
	sortByRank(g.Vendors, func(v *Vendor) []int { return vrank[v.Name] }, func(a, b *Vendor) int {
		return strings.Compare(a.Name, b.Name)
	})
	for vi, v := range g.Vendors {
		v.ID = fmt.Sprintf("v%d", vi+1)
	}

	// Flows, each with the vendor of its own cluster's catalogue.
	ownVendor := func(i *Integration) *Vendor {
		if i.Vendor == "" {
			return nil
		}
		if v := own[i.part][i.Vendor]; v != nil {
			return v
		}
		return unknownVendor(i.Vendor)
	}
	used := map[nodeKey]bool{}
	for _, w := range g.Workloads {
		for _, name := range w.refs {
			i := integrations[nodeKey{w.part, w.Namespace, name}]
			used[i.nodeKey()] = true
			g.Flows = append(g.Flows, newFlow(w.Name, i, ownVendor(i)))
		}
	}
	for _, i := range g.Integrations {
		if !used[i.nodeKey()] {
			g.Flows = append(g.Flows, newFlow("", i, ownVendor(i)))
		}
	}
	order := map[string]int{}
	for k, in := range parts {
		order[in.Cluster] = k
	}
	slices.SortStableFunc(g.Flows, func(a, b Flow) int {
		return cmp.Or(cmp.Compare(order[a.Cluster], order[b.Cluster]), strings.Compare(a.Namespace, b.Namespace),
			strings.Compare(a.Workload, b.Workload), strings.Compare(a.Integration, b.Integration))
	})
	for k, in := range parts {
		g.Records = append(g.Records, records(in, k, g, own[k])...)
	}
	return g
}

// unknownVendor is the node of a vendor an integration names that the
// catalogue does not hold.
func unknownVendor(name string) *Vendor {
	return &Vendor{Name: name, Status: StatusUnknown, DPA: "not in the catalogue"}
}

// vendorDrift compares a vendor's catalogue entries across the inputs: a
// catalogue lacking it, then each field on which those holding it differ.
func vendorDrift(name string, parts []Input, own []map[string]*Vendor) []string {
	type field struct {
		name  string
		value func(*Vendor) string
	}
	fields := []field{
		{"displayName", func(v *Vendor) string { return v.DisplayName }},
		{"category", func(v *Vendor) string { return v.Category }},
		{"status", func(v *Vendor) string { return v.Status }},
		{"processingRegions", func(v *Vendor) string { return strings.Join(v.Regions, ", ") }},
		{"dpa", func(v *Vendor) string { return v.DPA }},
	}
	var out []string
	var holders []int
	var presence []string
	for k, in := range parts {
		has := own[k][name] != nil
		presence = append(presence, fmt.Sprintf("%s %t", in.Cluster, has))
		if has {
			holders = append(holders, k)
		}
	}
	if len(holders) > 0 && len(holders) != len(parts) {
		out = append(out, "inCatalogue: "+strings.Join(presence, ", "))
	}
	for _, f := range fields {
		differs := false
		var values []string
		for _, k := range holders {
			v := f.value(own[k][name])
			differs = differs || v != f.value(own[holders[0]][name])
			if v == "" {
				v = "-"
			}
			values = append(values, parts[k].Cluster+" "+v)
		}
		if differs {
			out = append(out, f.name+": "+strings.Join(values, ", "))
		}
	}
	return out
}

// sortByRank orders nodes by the mean of their ranks (nodes without ranks
// last), then by tie.
func sortByRank[T any](nodes []T, ranks func(T) []int, tie func(a, b T) int) {
	mean := func(n T) (float64, bool) {
		r := ranks(n)
		if len(r) == 0 {
			return 0, false
		}
		sum := 0
		for _, x := range r {
			sum += x
		}
		return float64(sum) / float64(len(r)), true
	}
	slices.SortStableFunc(nodes, func(a, b T) int {
		ma, oka := mean(a)
		mb, okb := mean(b)
		switch {
		case oka && !okb:
			return -1
		case !oka && okb:
			return 1
		case oka && okb && ma != mb:
			return cmp.Compare(ma, mb)
		}
		return tie(a, b)
	})
}

func newVendor(v *v1alpha1.Vendor, now time.Time) *Vendor {
	out := &Vendor{
		Name: v.Name, DisplayName: v.Spec.DisplayName, Category: string(v.Spec.Category),
		Status: string(v.Spec.Status),
	}
	for _, r := range v.Spec.ProcessingRegions {
		out.Regions = append(out.Regions, string(r))
	}
	out.DPA, out.DPAValid = dpaText(v, now)
	return out
}

// dpaText describes a vendor's data processing agreement at now, by the
// engine's expiry rule (policy.Dates).
func dpaText(v *v1alpha1.Vendor, now time.Time) (string, bool) {
	d := policy.Dates(v, now)
	switch {
	case v.Spec.DPA == nil:
		return "none", false
	case !d.DPASigned:
		return "not signed", false
	case d.DPAExpires.IsZero():
		return "signed", true
	case d.DPAOutOfRange:
		// Not judged, by sensitive-data-dpa either: not valid.
		return "expiry " + d.DPAExpires.UTC().Format(time.RFC3339) + " outside the supported range", false
	case !now.IsZero() && d.DPAExpired:
		return "expired " + d.DPAExpires.UTC().Format(time.DateOnly), false
	}
	return "signed until " + d.DPAExpires.UTC().Format(time.DateOnly), true
}

func newFlow(workload string, i *Integration, v *Vendor) Flow {
	f := Flow{
		Cluster: i.Cluster, Namespace: i.Namespace, Workload: workload, Integration: i.Name, Vendor: i.Vendor,
		DataUse: i.DataUse, Categories: i.Categories, Subjects: i.Subjects, Region: i.Region,
		Compliant: i.Compliant && !i.Missing, Sensitive: len(i.Sensitive) > 0,
	}
	if v != nil {
		f.VendorStatus, f.DPA = v.Status, v.DPA
	}
	return f
}

func keys(ks []v1alpha1.TaxonomyKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// Edges returns the arrows: workload → integration for every reference,
// then integration → vendor, in node order. Integration → vendor edges are
// labelled with the data use, the categories and the region.
func (g *Graph) Edges() []Edge {
	byKey := map[nodeKey]*Integration{}
	for _, i := range g.Integrations {
		byKey[i.nodeKey()] = i
	}
	vendorID := map[string]string{}
	for _, v := range g.Vendors {
		vendorID[v.Name] = v.ID
	}
	var out []Edge
	for _, w := range g.Workloads {
		var targets []*Integration
		for _, name := range w.refs {
			targets = append(targets, byKey[nodeKey{w.part, w.Namespace, name}])
		}
		slices.SortFunc(targets, func(a, b *Integration) int { return cmp.Compare(a.order, b.order) })
		for _, i := range targets {
			out = append(out, Edge{From: w.ID, To: i.ID, Compliant: i.Compliant && !i.Missing, Sensitive: len(i.Sensitive) > 0})
		}
	}
	for _, i := range g.Integrations {
		if i.Vendor == "" {
			continue
		}
		out = append(out, Edge{From: i.ID, To: vendorID[i.Vendor], Label: i.edgeLabel(), Compliant: i.Compliant, Sensitive: len(i.Sensitive) > 0})
	}
	return out
}

// edgeLabel is the data use, the categories (sensitive ones marked) and the
// region, one a line.
func (i *Integration) edgeLabel() []string {
	var lines []string
	if i.DataUse != "" {
		lines = append(lines, "use: "+i.DataUse)
	}
	if len(i.Categories) > 0 {
		cats := make([]string, len(i.Categories))
		for k, c := range i.Categories {
			cats[k] = c
			if slices.Contains(i.Sensitive, c) {
				cats[k] = c + " (sensitive)"
			}
		}
		lines = append(lines, "data: "+strings.Join(cats, ", "))
	}
	if i.Region != "" {
		lines = append(lines, "region: "+i.Region)
	}
	return lines
}

// nodeLines are the lines of text in a node's box: a title and details.
func (w *Workload) nodeLines() (string, []string) {
	var d []string
	if w.Cluster != "" {
		d = append(d, "cluster: "+w.Cluster)
	}
	d = append(d, "ns: "+w.Namespace)
	if w.Team != "" {
		d = append(d, "team: "+w.Team)
	}
	if w.Host != "" {
		d = append(d, "host: "+w.Host)
	}
	return w.Name, d
}

func (i *Integration) nodeLines() (string, []string) {
	var d []string
	if i.Cluster != "" {
		d = append(d, "cluster: "+i.Cluster)
	}
	d = append(d, "ns: "+i.Namespace)
	if i.Missing {
		return i.Name, append(d, "MISSING: not among the inputs")
	}
	if len(i.Subjects) > 0 {
		d = append(d, "subjects: "+strings.Join(i.Subjects, ", "))
	}
	if !i.Compliant {
		d = append(d, fmt.Sprintf("NON-COMPLIANT (%d)", len(i.Violations)))
	}
	return i.Name, d
}

func (v *Vendor) nodeLines() (string, []string) {
	status := v.Status
	if v.Status == StatusUnknown {
		status = "not in the catalogue"
	}
	d := []string{status}
	if v.Category != "" {
		d[0] += " · " + v.Category
	}
	if len(v.Regions) > 0 {
		d = append(d, "regions: "+strings.Join(v.Regions, ", "))
	}
	if v.Status != StatusUnknown {
		d = append(d, "DPA: "+v.DPA)
	}
	if len(v.Drift) > 0 {
		fields := make([]string, len(v.Drift))
		for k, f := range v.Drift {
			fields[k], _, _ = strings.Cut(f, ":")
		}
		d = append(d, "DIFFERS between clusters: "+strings.Join(fields, ", "))
	}
	return v.Label(), d
}
