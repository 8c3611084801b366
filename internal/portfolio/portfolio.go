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
	Now    time.Time
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

	cost *big.Int // cents; nil without an annual cost
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
}

// Portfolio is the whole view.
type Portfolio struct {
	Now     time.Time `json:"-"`
	Rows    []Row     `json:"vendors"`
	Summary Summary   `json:"summary"`
}

// Build makes the portfolio. Rows are by vendor name; a vendor that
// integrations name but the catalogue does not hold has a row with status
// unknown. An annual cost that is not a valid amount is an error naming the
// vendor and the field.
func Build(in Input) (*Portfolio, error) {
	rows := map[string]*Row{}
	for _, v := range in.Vendors {
		r, err := newRow(v)
		if err != nil {
			return nil, err
		}
		if in.Source != nil {
			r.Source = in.Source(v.Name)
		}
		if d := in.VendorDecisions[v.Name]; d != nil {
			r.Findings = append(r.Findings, findings(d, "Vendor/"+v.Name)...)
		}
		rows[v.Name] = r
	}

	// Integrations, their teams, cost centres, categories and findings.
	integrationVendor := map[string]string{} // namespace/name -> vendor
	cats := map[string]map[string]bool{}     // vendor -> category -> sensitive
	for _, si := range in.Integrations {
		name := si.Spec.Vendor
		if name == "" {
			continue
		}
		r := rows[name]
		if r == nil {
			r = &Row{Vendor: name, Status: StatusUnknown}
			rows[name] = r
		}
		key := si.Namespace + "/" + si.Name
		integrationVendor[key] = name
		r.Integrations = append(r.Integrations, key)
		if si.Spec.Owner != nil && si.Spec.Owner.Team != "" {
			r.Teams = appendUnique(r.Teams, si.Spec.Owner.Team)
		}
		if si.Spec.CostCenter != "" {
			r.CostCenters = appendUnique(r.CostCenters, si.Spec.CostCenter)
		}
		var keys, sensitive []string
		for _, c := range si.Spec.DataCategories {
			keys = append(keys, string(c))
		}
		if in.Sensitive != nil {
			sensitive = policy.SensitiveCategories(keys, in.Sensitive(si.Namespace))
		}
		if cats[name] == nil {
			cats[name] = map[string]bool{}
		}
		for _, k := range keys {
			cats[name][k] = cats[name][k] || slices.Contains(sensitive, k)
		}
		if d := in.IntegrationDecisions[key]; d != nil {
			r.Findings = append(r.Findings, findings(d, "SaaSIntegration/"+key)...)
		}
	}
	for _, mw := range in.Workloads {
		for _, ref := range mw.Spec.Integrations {
			if name, ok := integrationVendor[mw.Namespace+"/"+ref.Name]; ok {
				rows[name].Workloads = appendUnique(rows[name].Workloads, mw.Namespace+"/"+mw.Name)
			}
		}
	}

	p := &Portfolio{Now: in.Now}
	for _, name := range slices.Sorted(maps.Keys(rows)) {
		r := rows[name]
		for _, k := range slices.Sorted(maps.Keys(cats[name])) {
			r.DataCategories = append(r.DataCategories, Category{Key: k, Sensitive: cats[name][k]})
		}
		slices.Sort(r.Teams)
		slices.Sort(r.CostCenters)
		slices.Sort(r.Integrations)
		slices.Sort(r.Workloads)
		slices.SortStableFunc(r.Findings, func(a, b Finding) int {
			return cmp.Or(cmp.Compare(levelRank(a.Level), levelRank(b.Level)), strings.Compare(a.Object, b.Object), strings.Compare(a.Policy, b.Policy))
		})
		r.Teams, r.CostCenters, r.Integrations, r.Workloads = nonNil(r.Teams), nonNil(r.CostCenters), nonNil(r.Integrations), nonNil(r.Workloads)
		if r.DataCategories == nil {
			r.DataCategories = []Category{}
		}
		if r.Findings == nil {
			r.Findings = []Finding{}
		}
		p.Rows = append(p.Rows, *r)
	}
	p.Summary = summarise(p.Rows)
	return p, nil
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
		if hasFinding(r, PolicyUnused) {
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

func hasFinding(r Row, policyName string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Policy == policyName })
}

func groups(m map[string]*Sums) []Group {
	out := make([]Group, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Group{Key: k, Totals: m[k].Amounts()})
	}
	return out
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
