// Package portfolio is the martech portfolio view a CIO or a CMO reads: one
// row per Vendor (what it is, who owns it, what it costs, when it renews,
// who uses it for what data, and what the policy engine finds about it),
// and below it the totals of annual cost by category and by cost centre,
// the overlapping categories, the unused vendors and the spend on
// restricted or prohibited ones.
//
// Build is pure: it reads typed objects and the engine's decisions on the
// Vendors and SaaSIntegrations, and computes no finding of its own. Dates
// come from internal/policy (NoticeBy, Deadlines); money is summed exactly,
// in whole cents (math/big), never in floats. The renderers write the
// portfolio as text, JSON, CSV or a self-contained HTML page.
package portfolio

import (
	"cmp"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// Policies whose findings the summary reads.
const (
	PolicyRenewal = "vendor-renewal"
	PolicyOverlap = "vendor-overlap"
	PolicyUnused  = "vendor-unused"
)

// Unattributed is the cost centre of a vendor's cost that no
// SaaSIntegration's costCenter claims.
const Unattributed = "(unattributed)"

// StatusUnknown is the status of a vendor that integrations name but the
// catalogue does not hold.
const StatusUnknown = dataflow.StatusUnknown

// Input is what the portfolio is built from.
type Input struct {
	Vendors      []*v1alpha1.Vendor
	Integrations []*v1alpha1.SaaSIntegration
	Workloads    []*v1alpha1.MarketingWorkload
	// Decisions are the engine's decisions on the Vendors (keyed by name)
	// and on the SaaSIntegrations (keyed by "namespace/name").
	VendorDecisions      map[string]*policy.Decision
	IntegrationDecisions map[string]*policy.Decision
	// Sensitive returns the sensitive data categories of the standard in
	// force in a namespace; nil means none.
	Sensitive func(namespace string) []string
	// Source returns where a Vendor is declared (file:line or cluster).
	Source func(vendor string) string
	// Cluster names the cluster the objects were read from (the
	// --context); "" for files or the current context.
	Cluster string
	Now     time.Time
}

// Finding is one result of the engine on a vendor or on one of its
// integrations.
type Finding struct {
	Policy string `json:"policy"`
	// Level is deny, warn, audit, error, or waived (a PolicyException
	// waives it).
	Level string `json:"level"`
	// Object is "Vendor/name" or "SaaSIntegration/namespace/name".
	Object  string `json:"object"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// Clusters are the clusters whose engine returned the finding, in the
	// order of the sources; none for files or the current context.
	Clusters []string `json:"clusters,omitempty"`
}

// Category is a data category a vendor receives.
type Category struct {
	Key       string `json:"key"`
	Sensitive bool   `json:"sensitive"`
}

// Row is one vendor.
type Row struct {
	Vendor       string `json:"vendor"`
	DisplayName  string `json:"displayName,omitempty"`
	Category     string `json:"category,omitempty"`
	Status       string `json:"status"`
	OwnerTeam    string `json:"ownerTeam,omitempty"`
	OwnerContact string `json:"ownerContact,omitempty"`
	// AnnualCost is spec.contract.annualCost, its amount normalised to two
	// decimals.
	AnnualCost *Amount `json:"annualCost,omitempty"`
	// Dates are YYYY-MM-DD (UTC), from policy.Deadlines.
	RenewsAt              string     `json:"renewsAt,omitempty"`
	NoticeBy              string     `json:"noticeBy,omitempty"`
	AutoRenew             bool       `json:"autoRenew"`
	DPAExpires            string     `json:"dpaExpires,omitempty"`
	SecurityReviewExpires string     `json:"securityReviewExpires,omitempty"`
	Teams                 []string   `json:"teams"`
	CostCenters           []string   `json:"costCenters"`
	Integrations          []string   `json:"integrations"` // namespace/name
	Workloads             []string   `json:"workloads"`    // namespace/name
	DataCategories        []Category `json:"dataCategories"`
	Findings              []Finding  `json:"findings"`
	Source                string     `json:"source,omitempty"`
	// Clusters are the clusters whose catalogue holds the vendor or whose
	// integrations use it, in the order of the sources; Usage is what each
	// of them uses it for; Drift the catalogue fields on which they
	// disagree. All three only when the sources are named clusters.
	Clusters []string `json:"clusters,omitempty"`
	Usage    []Usage  `json:"usage,omitempty"`
	Drift    []Drift  `json:"drift,omitempty"`

	cost   *big.Int // cents; nil without an annual cost
	unused bool     // every source whose catalogue holds it found it unused
}

// Usage is what one cluster uses a vendor for. Integrations and workloads
// are namespace/name within the cluster.
type Usage struct {
	Cluster string `json:"cluster"`
	// InCatalogue says the cluster's catalogue holds the Vendor; false
	// when only its integrations name it (status unknown there).
	InCatalogue  bool     `json:"inCatalogue"`
	Teams        []string `json:"teams"`
	CostCenters  []string `json:"costCenters"`
	Integrations []string `json:"integrations"`
	Workloads    []string `json:"workloads"`
}

// Drift is a catalogue field on which clusters disagree about a vendor:
// the field's JSON name (inCatalogue when some cluster lacks the vendor)
// and each cluster's value.
type Drift struct {
	Field  string         `json:"field"`
	Values []ClusterValue `json:"values"`
}

// ClusterValue is one cluster's value of a field.
type ClusterValue struct {
	Cluster string `json:"cluster"`
	Value   string `json:"value"`
}

// DriftLine is a vendor whose catalogue entry differs between clusters,
// and the fields that differ.
type DriftLine struct {
	Vendor string   `json:"vendor"`
	Fields []string `json:"fields"`
}

// Share is the part of a vendor's cost attributed to a cost centre.
type Share struct {
	Vendor string `json:"vendor"`
	Amount Amount `json:"amount"`
}

// Group is a total of annual cost for a key (a category or a cost centre).
type Group struct {
	Key    string   `json:"key"`
	Totals []Amount `json:"totals"`
}

// Overlap is a category in which the engine found overlapping approved
// vendors (vendor-overlap), with the category's approved vendors.
type Overlap struct {
	Category string         `json:"category"`
	Vendors  []OverlapEntry `json:"vendors"`
}

// OverlapEntry is an approved vendor of an overlapping category.
type OverlapEntry struct {
	Vendor       string  `json:"vendor"`
	Integrations int     `json:"integrations"`
	AnnualCost   *Amount `json:"annualCost,omitempty"`
}

// CostLine is a vendor and what it costs.
type CostLine struct {
	Vendor     string  `json:"vendor"`
	Status     string  `json:"status,omitempty"`
	AnnualCost *Amount `json:"annualCost,omitempty"`
}

// Summary is what is below the rows.
type Summary struct {
	Total        []Amount   `json:"total"`
	ByCategory   []Group    `json:"byCategory"`
	ByCostCenter []Group    `json:"byCostCenter"`
	Overlaps     []Overlap  `json:"overlaps"`
	Unused       []CostLine `json:"unused"`
	UnusedTotal  []Amount   `json:"unusedTotal"`
	// Restricted are the restricted and prohibited vendors with a cost.
	Restricted      []CostLine `json:"restricted"`
	RestrictedTotal []Amount   `json:"restrictedTotal"`
	// Drift are the vendors whose catalogue entry differs between the
	// clusters of a fleet (their rows show the first cluster's).
	Drift []DriftLine `json:"drift,omitempty"`
}

// Portfolio is the whole view.
type Portfolio struct {
	Now time.Time `json:"-"`
	// Clusters are the clusters read, in the order of the sources; none
	// for files or the current context.
	Clusters []string `json:"clusters,omitempty"`
	Rows     []Row    `json:"vendors"`
	Summary  Summary  `json:"summary"`
}

// Build makes the portfolio of one source: files, or one cluster. Rows are
// by vendor name; a vendor that integrations name but the catalogue does
// not hold has a row with status unknown. An annual cost that is not a
// valid amount is an error naming the vendor and the field.
func Build(in Input) (*Portfolio, error) { return BuildFleet([]Input{in}) }

// BuildFleet makes one portfolio of several sources, each a cluster named
// by its Input.Cluster, in the order given (the order of --context).
//
// A vendor that several clusters hold is one row: its catalogue fields
// (category, status, owner, contract, dates) are those of the first source
// whose catalogue holds it, and its annual cost is counted once in the
// totals. Where another source's catalogue entry differs, or lacks the
// vendor, the row's Drift says so, field by field, with each cluster's
// value, and the summary lists the vendor: the view never picks a value
// silently. Usage (teams, cost centres, integrations, workloads) is kept
// per cluster in Usage and united in the row; findings are each source's
// engine decisions, an identical finding returned by several clusters
// listed once with those clusters.
//
// When no source has a cluster name (files, or the current context) the
// portfolio is the one source's, without cluster fields.
func BuildFleet(parts []Input) (*Portfolio, error) {
	p := &Portfolio{}
	named := false
	for _, in := range parts {
		if in.Cluster != "" {
			named = true
			p.Clusters = append(p.Clusters, in.Cluster)
		}
	}
	if len(parts) > 0 {
		p.Now = parts[0].Now
	}
	perPart := make([]map[string]*partVendor, len(parts))
	names := map[string]bool{}
	for k, in := range parts {
		pv, err := buildPart(in)
		if err != nil {
			if in.Cluster != "" {
				err = fmt.Errorf("cluster %s: %w", in.Cluster, err)
			}
			return nil, err
		}
		perPart[k] = pv
		for name := range pv {
			names[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		p.Rows = append(p.Rows, mergeRow(name, parts, perPart, named))
	}
	p.Summary = summarise(p.Rows)
	if named {
		for _, r := range p.Rows {
			if len(r.Drift) > 0 {
				d := DriftLine{Vendor: r.Vendor}
				for _, f := range r.Drift {
					d.Fields = append(d.Fields, f.Field)
				}
				p.Summary.Drift = append(p.Summary.Drift, d)
			}
		}
	}
	return p, nil
}

// partVendor is what one source says about one vendor.
type partVendor struct {
	// catalogue is the source's catalogue entry; nil when it lacks one.
	catalogue *Row
	// Sets of team, cost centre, integration and workload names.
	teams, costCenters map[string]bool
	integrations       map[string]bool
	workloads          map[string]bool
	categories         map[string]bool // key -> sensitive
	findings           []Finding
}

func newPartVendor() *partVendor {
	return &partVendor{teams: map[string]bool{}, costCenters: map[string]bool{}, integrations: map[string]bool{},
		workloads: map[string]bool{}, categories: map[string]bool{}}
}

// buildPart reads one source: its catalogue, the integrations naming each
// vendor, the workloads using those, and the engine's decisions.
func buildPart(in Input) (map[string]*partVendor, error) {
	out := map[string]*partVendor{}
	for _, v := range in.Vendors {
		r, err := newRow(v)
		if err != nil {
			return nil, err
		}
		if in.Source != nil {
			r.Source = in.Source(v.Name)
		}
		pv := newPartVendor()
		pv.catalogue = r
		if d := in.VendorDecisions[v.Name]; d != nil {
			pv.findings = append(pv.findings, findings(d, "Vendor/"+v.Name)...)
		}
		out[v.Name] = pv
	}
	integrationVendor := map[string]string{} // namespace/name -> vendor
	for _, si := range in.Integrations {
		name := si.Spec.Vendor
		if name == "" {
			continue
		}
		pv := out[name]
		if pv == nil {
			pv = newPartVendor()
			out[name] = pv
		}
		key := si.Namespace + "/" + si.Name
		integrationVendor[key] = name
		pv.integrations[key] = true
		if si.Spec.Owner != nil && si.Spec.Owner.Team != "" {
			pv.teams[si.Spec.Owner.Team] = true
		}
		if si.Spec.CostCenter != "" {
			pv.costCenters[si.Spec.CostCenter] = true
		}
		var keys, sensitive []string
		for _, c := range si.Spec.DataCategories {
			keys = append(keys, string(c))
		}
		if in.Sensitive != nil {
			sensitive = policy.SensitiveCategories(keys, in.Sensitive(si.Namespace))
		}
		for _, k := range keys {
			pv.categories[k] = pv.categories[k] || slices.Contains(sensitive, k)
		}
		if d := in.IntegrationDecisions[key]; d != nil {
			pv.findings = append(pv.findings, findings(d, "SaaSIntegration/"+key)...)
		}
	}
	for _, mw := range in.Workloads {
		for _, ref := range mw.Spec.Integrations {
			if name, ok := integrationVendor[mw.Namespace+"/"+ref.Name]; ok {
				out[name].workloads[mw.Namespace+"/"+mw.Name] = true
			}
		}
	}
	return out, nil
}

// mergeRow makes the row of one vendor from every source that holds or
// uses it. named says the sources are named clusters: the row then names
// them (Clusters, Usage, each finding's Clusters, "cluster/namespace/name"
// integrations and workloads) and compares their catalogue entries.
func mergeRow(name string, parts []Input, perPart []map[string]*partVendor, named bool) Row {
	var r *Row
	for k := range parts {
		if pv := perPart[k][name]; pv != nil && pv.catalogue != nil {
			c := *pv.catalogue
			r = &c
			break
		}
	}
	if r == nil {
		r = &Row{Vendor: name, Status: StatusUnknown}
	}
	teams, costCenters := map[string]bool{}, map[string]bool{}
	cats := map[string]bool{}
	type findingKey struct{ policy, level, object, field, message string }
	merged := map[findingKey]int{} // index in r.Findings
	inCatalogue, unusedIn := 0, 0
	for k, in := range parts {
		pv := perPart[k][name]
		if pv == nil {
			continue
		}
		qualify := func(s string) string {
			if named {
				return in.Cluster + "/" + s
			}
			return s
		}
		for t := range pv.teams {
			teams[t] = true
		}
		for c := range pv.costCenters {
			costCenters[c] = true
		}
		for c, sensitive := range pv.categories {
			cats[c] = cats[c] || sensitive
		}
		for i := range pv.integrations {
			r.Integrations = append(r.Integrations, qualify(i))
		}
		for w := range pv.workloads {
			r.Workloads = append(r.Workloads, qualify(w))
		}
		unused := false
		for _, f := range pv.findings {
			if f.Policy == PolicyUnused && f.Object == "Vendor/"+name {
				unused = true
			}
			fk := findingKey{f.Policy, f.Level, f.Object, f.Field, f.Message}
			if at, ok := merged[fk]; ok {
				if named {
					r.Findings[at].Clusters = append(r.Findings[at].Clusters, in.Cluster)
				}
				continue
			}
			if named {
				f.Clusters = []string{in.Cluster}
			}
			merged[fk] = len(r.Findings)
			r.Findings = append(r.Findings, f)
		}
		if pv.catalogue != nil {
			inCatalogue++
			if unused {
				unusedIn++
			}
		}
		if named {
			r.Clusters = append(r.Clusters, in.Cluster)
			r.Usage = append(r.Usage, Usage{
				Cluster: in.Cluster, InCatalogue: pv.catalogue != nil,
				Teams: sortedKeys(pv.teams), CostCenters: sortedKeys(pv.costCenters),
				Integrations: sortedKeys(pv.integrations), Workloads: sortedKeys(pv.workloads),
			})
		}
	}
	// Unused: every source whose catalogue holds the vendor found it
	// unused (vendor-unused); a vendor used in one cluster is not shelfware
	// of the fleet, though the other clusters' findings stay in the row.
	r.unused = inCatalogue > 0 && unusedIn == inCatalogue
	if named && len(parts) > 1 {
		r.Drift = drift(name, parts, perPart)
	}
	r.Teams, r.CostCenters = sortedKeys(teams), sortedKeys(costCenters)
	r.Integrations, r.Workloads = nonNil(r.Integrations), nonNil(r.Workloads)
	slices.Sort(r.Integrations)
	slices.Sort(r.Workloads)
	r.DataCategories = []Category{}
	for _, k := range slices.Sorted(maps.Keys(cats)) {
		r.DataCategories = append(r.DataCategories, Category{Key: k, Sensitive: cats[k]})
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(levelRank(a.Level), levelRank(b.Level)), strings.Compare(a.Object, b.Object), strings.Compare(a.Policy, b.Policy))
	})
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return *r
}

// catalogueFields are the fields of a row that come from the Vendor, by
// their JSON names, as compared between clusters.
func catalogueFields(r *Row) [][2]string {
	owner := r.OwnerTeam
	if r.OwnerContact != "" {
		owner = strings.TrimSpace(owner + " <" + r.OwnerContact + ">")
	}
	return [][2]string{
		{"displayName", r.DisplayName}, {"category", r.Category}, {"status", r.Status}, {"owner", owner},
		{"annualCost", costText(r.AnnualCost)}, {"renewsAt", r.RenewsAt}, {"autoRenew", strconv.FormatBool(r.AutoRenew)},
		{"noticeBy", r.NoticeBy}, {"dpaExpires", r.DPAExpires}, {"securityReviewExpires", r.SecurityReviewExpires},
	}
}

// drift compares the vendor's catalogue entries across the sources: a
// source lacking it (field inCatalogue), then each field on which the
// sources holding it disagree.
func drift(name string, parts []Input, perPart []map[string]*partVendor) []Drift {
	var out []Drift
	presence := Drift{Field: "inCatalogue"}
	var holders []int
	for k, in := range parts {
		pv := perPart[k][name]
		has := pv != nil && pv.catalogue != nil
		presence.Values = append(presence.Values, ClusterValue{Cluster: in.Cluster, Value: strconv.FormatBool(has)})
		if has {
			holders = append(holders, k)
		}
	}
	if len(holders) > 0 && len(holders) != len(parts) {
		out = append(out, presence)
	}
	if len(holders) < 2 {
		return out
	}
	first := catalogueFields(perPart[holders[0]][name].catalogue)
	values := make([][][2]string, len(holders))
	for h, k := range holders {
		values[h] = catalogueFields(perPart[k][name].catalogue)
	}
	for f := range first {
		differs := false
		for h := range holders {
			if values[h][f][1] != first[f][1] {
				differs = true
			}
		}
		if !differs {
			continue
		}
		d := Drift{Field: first[f][0]}
		for h, k := range holders {
			d.Values = append(d.Values, ClusterValue{Cluster: parts[k].Cluster, Value: orDash(values[h][f][1])})
		}
		out = append(out, d)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func newRow(v *v1alpha1.Vendor) (*Row, error) {
	r := &Row{Vendor: v.Name, DisplayName: v.Spec.DisplayName, Category: string(v.Spec.Category), Status: string(v.Spec.Status)}
	if o := v.Spec.Owner; o != nil {
		r.OwnerTeam, r.OwnerContact = o.Team, o.Contact
	}
	if c := v.Spec.Contract; c != nil {
		r.AutoRenew = c.AutoRenew
		if m := c.AnnualCost; m != nil {
			n, err := cents(m.Amount)
			if err != nil {
				return nil, fmt.Errorf("Vendor %s: spec.contract.annualCost.amount: %w", v.Name, err) //nolint:staticcheck // starts with the kind, as the other messages naming an object
			}
			r.cost = n
			r.AnnualCost = &Amount{Currency: m.Currency, Amount: formatCents(n)}
		}
	}
	if at, ok := policy.NoticeBy(v); ok {
		r.NoticeBy = day(at)
	}
	for _, d := range policy.Deadlines(v) {
		switch d.What {
		case policy.DeadlineRenewal:
			r.RenewsAt = day(d.At)
		case policy.DeadlineDPA:
			r.DPAExpires = day(d.At)
		case policy.DeadlineSecurityReview:
			r.SecurityReviewExpires = day(d.At)
		}
	}
	return r, nil
}

// findings are a decision's results, waived ones as level waived.
func findings(d *policy.Decision, object string) []Finding {
	out := make([]Finding, 0, len(d.Results))
	for _, res := range d.Results {
		level := res.Enforcement
		if res.Waived() {
			level = "waived"
		}
		out = append(out, Finding{Policy: res.Policy, Level: level, Object: object, Field: res.Field, Message: res.Message})
	}
	return out
}

// levelRank orders findings: deny, error, warn, audit, waived.
func levelRank(level string) int {
	switch level {
	case "deny":
		return 0
	case "error":
		return 1
	case "warn":
		return 2
	case "audit":
		return 3
	}
	return 4
}

// summarise totals the rows.
//
// Cost centres: a vendor's annual cost is split evenly among the distinct
// cost centres of the SaaSIntegrations using it (in whole cents, the
// remainder one cent each to the first cost centres by name), so that the
// totals by cost centre add up to the grand total exactly; a cost that no
// integration's costCenter claims (an unused vendor, or integrations that
// name no cost centre) is listed as (unattributed) rather than guessed.
func summarise(rows []Row) Summary {
	var s Summary
	var total, unused, restricted Sums
	byCat := map[string]*Sums{}
	byCC := map[string]*Sums{}
	add := func(m map[string]*Sums, key, cur string, c *big.Int) {
		if m[key] == nil {
			m[key] = &Sums{}
		}
		m[key].Add(cur, c)
	}
	overlapCats := map[string]bool{}
	s.Unused, s.Restricted = []CostLine{}, []CostLine{}
	for _, r := range rows {
		for _, f := range r.Findings {
			if f.Policy == PolicyOverlap && r.Category != "" {
				overlapCats[r.Category] = true
			}
		}
		if r.unused {
			s.Unused = append(s.Unused, CostLine{Vendor: r.Vendor, Status: r.Status, AnnualCost: r.AnnualCost})
			if r.cost != nil {
				unused.Add(r.AnnualCost.Currency, r.cost)
			}
		}
		if r.cost == nil {
			continue
		}
		cur := r.AnnualCost.Currency
		total.Add(cur, r.cost)
		cat := r.Category
		if cat == "" {
			cat = StatusUnknown
		}
		add(byCat, cat, cur, r.cost)
		if len(r.CostCenters) == 0 {
			add(byCC, Unattributed, cur, r.cost)
		} else {
			for i, share := range split(r.cost, len(r.CostCenters)) {
				add(byCC, r.CostCenters[i], cur, share)
			}
		}
		if r.Status == string(v1alpha1.VendorRestricted) || r.Status == string(v1alpha1.VendorProhibited) {
			s.Restricted = append(s.Restricted, CostLine{Vendor: r.Vendor, Status: r.Status, AnnualCost: r.AnnualCost})
			restricted.Add(cur, r.cost)
		}
	}
	s.Total, s.UnusedTotal, s.RestrictedTotal = total.Amounts(), unused.Amounts(), restricted.Amounts()
	s.ByCategory, s.ByCostCenter = groups(byCat), groups(byCC)
	s.Overlaps = []Overlap{}
	for _, cat := range slices.Sorted(maps.Keys(overlapCats)) {
		o := Overlap{Category: cat}
		for _, r := range rows {
			if r.Category == cat && r.Status == string(v1alpha1.VendorApproved) {
				o.Vendors = append(o.Vendors, OverlapEntry{Vendor: r.Vendor, Integrations: len(r.Integrations), AnnualCost: r.AnnualCost})
			}
		}
		slices.SortStableFunc(o.Vendors, func(a, b OverlapEntry) int { return cmp.Compare(b.Integrations, a.Integrations) })
		s.Overlaps = append(s.Overlaps, o)
	}
	return s
}

func groups(m map[string]*Sums) []Group {
	out := make([]Group, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Group{Key: k, Totals: m[k].Amounts()})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
