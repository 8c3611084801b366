package policy

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// The martech portfolio: a Vendor's contract deadlines, and how the
// cluster's SaaSIntegrations use the catalogue. Every date a portfolio
// policy (vendor-renewal, vendor-unused) compares is computed here, in
// whole seconds, by the one expiry rule (Expired), and handed to Rego as
// input.portfolio: precomputed facts and whole numbers, so that no policy
// parses or subtracts a date. The Vendor reconciler, the metrics and the
// audit read the same functions.

// Deadline kinds: Deadline.What.
const (
	DeadlineNotice         = "notice"
	DeadlineRenewal        = "renewal"
	DeadlineDPA            = "dpa"
	DeadlineSecurityReview = "security-review"
)

// Defaults of PlatformStandard.spec.portfolio.
const (
	DefaultRenewalWarningDays = 60
	DefaultUnusedAfterDays    = 90
)

// Day is the length of a day in the portfolio's counts: 24 hours.
const Day = 24 * time.Hour

// PortfolioSettings are a standard's portfolio settings, defaults applied.
type PortfolioSettings struct {
	RenewalWarningDays int
	UnusedAfterDays    int
}

// Portfolio returns the portfolio settings of std (nil: the defaults).
func Portfolio(std *v1alpha1.PlatformStandard) PortfolioSettings {
	s := PortfolioSettings{RenewalWarningDays: DefaultRenewalWarningDays, UnusedAfterDays: DefaultUnusedAfterDays}
	if std == nil || std.Spec.Portfolio == nil {
		return s
	}
	if d := std.Spec.Portfolio.RenewalWarningDays; d != nil && *d > 0 {
		s.RenewalWarningDays = int(*d)
	}
	if d := std.Spec.Portfolio.UnusedAfterDays; d != nil && *d > 0 {
		s.UnusedAfterDays = int(*d)
	}
	return s
}

// Deadline is one of a vendor's dates.
type Deadline struct {
	What string
	At   time.Time // whole seconds, UTC
}

// Passed reports whether the deadline has passed at now (Expired).
func (d Deadline) Passed(now time.Time) bool { return Expired(d.At, now) }

// WindowStart is when the deadline enters a window of days before it.
func (d Deadline) WindowStart(days int) time.Time { return d.At.Add(-time.Duration(days) * Day) }

// InWindow reports whether now is within days before the deadline: the
// window has begun and the deadline has not passed.
func (d Deadline) InWindow(days int, now time.Time) bool {
	return !d.Passed(now) && Expired(d.WindowStart(days), now)
}

// seconds truncates t to whole seconds in UTC, as the API stores times.
func seconds(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// NoticeBy returns a vendor's notice deadline: spec.contract.renewsAt
// minus noticeDays days (renewsAt itself without noticeDays); false when
// the contract has no renewsAt.
func NoticeBy(v *v1alpha1.Vendor) (time.Time, bool) {
	c := v.Spec.Contract
	if c == nil || c.RenewsAt == nil || c.RenewsAt.IsZero() {
		return time.Time{}, false
	}
	days := 0
	if c.NoticeDays != nil {
		days = int(*c.NoticeDays)
	}
	return seconds(c.RenewsAt.Time).Add(-time.Duration(days) * Day), true
}

// Deadlines returns a vendor's deadlines, earliest first (on a tie, in the
// order notice, renewal, dpa, security-review): the contract's notice
// deadline and renewal, the signed DPA's expiry and the security review's.
func Deadlines(v *v1alpha1.Vendor) []Deadline {
	var out []Deadline
	if at, ok := NoticeBy(v); ok {
		out = append(out, Deadline{DeadlineNotice, at})
		out = append(out, Deadline{DeadlineRenewal, seconds(v.Spec.Contract.RenewsAt.Time)})
	}
	if dpa := v.Spec.DPA; dpa != nil && dpa.Signed && dpa.Expires != nil && !dpa.Expires.IsZero() {
		out = append(out, Deadline{DeadlineDPA, seconds(dpa.Expires.Time)})
	}
	if sr := v.Spec.SecurityReview; sr != nil && sr.Expires != nil && !sr.Expires.IsZero() {
		out = append(out, Deadline{DeadlineSecurityReview, seconds(sr.Expires.Time)})
	}
	slices.SortStableFunc(out, func(a, b Deadline) int { return a.At.Compare(b.At) })
	return out
}

// NextDeadline returns the earliest of a vendor's deadlines that has not
// passed at now; false when none is left.
func NextDeadline(v *v1alpha1.Vendor, now time.Time) (Deadline, bool) {
	for _, d := range Deadlines(v) {
		if !d.Passed(now) {
			return d, true
		}
	}
	return Deadline{}, false
}

// UnusedSince returns when a vendor's unused clock started: the latest of
// its creation, its contract's start and status.lastUsedAt (each when
// known); false when none is known (a Vendor read from a file without
// them).
func UnusedSince(v *v1alpha1.Vendor) (time.Time, bool) {
	var since time.Time
	later := func(t time.Time) {
		if !t.IsZero() && seconds(t).After(since) {
			since = seconds(t)
		}
	}
	later(v.CreationTimestamp.Time)
	if c := v.Spec.Contract; c != nil && c.StartsAt != nil {
		later(c.StartsAt.Time)
	}
	if v.Status.LastUsedAt != nil {
		later(v.Status.LastUsedAt.Time)
	}
	return since, !since.IsZero()
}

// UnusedFinding reports whether vendor-unused applies to v's usage at
// now: an approved vendor with a contract that no SaaSIntegration has used
// (integrations is 0) for the standard's unusedAfterDays, counted from
// UnusedSince. It returns the instant the vendor became (or becomes)
// overdue too; zero when the rule cannot apply.
func UnusedFinding(v *v1alpha1.Vendor, integrations int, s PortfolioSettings, now time.Time) (overdue bool, at time.Time) {
	if v.Spec.Status != v1alpha1.VendorApproved || v.Spec.Contract == nil || integrations > 0 {
		return false, time.Time{}
	}
	since, ok := UnusedSince(v)
	if !ok {
		return false, time.Time{}
	}
	at = since.Add(time.Duration(s.UnusedAfterDays) * Day)
	return Expired(at, now), at
}

// NextVendorChange returns the first instant after now at which a fact of
// input.portfolio about v changes with time alone: a deadline enters the
// renewal-warning window or passes, or the vendor becomes unused. Zero when
// none is ahead. integrations is how many SaaSIntegrations use v (-1:
// unknown).
func NextVendorChange(v *v1alpha1.Vendor, integrations int, s PortfolioSettings, now time.Time) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, d := range Deadlines(v) {
		at(d.WindowStart(s.RenewalWarningDays))
		at(d.At)
	}
	if integrations >= 0 {
		if _, t := UnusedFinding(v, integrations, s, now); !t.IsZero() {
			at(t)
		}
	}
	return next
}

// wholeDays is the number of whole days in d (rounded toward zero).
func wholeDays(d time.Duration) int { return int(d / Day) }

// Usage is how the cluster's SaaSIntegrations (the CLI: those of its
// inputs) use the vendor catalogue. internal/resolve builds it from what
// every door already reads; a nil Usage is unknown, and the facts that
// need it are left out of the input.
type Usage struct {
	byVendor map[string]int      // integrations per vendor
	vendorOf map[usageRef]string // each integration's vendor
	// all is input.portfolio.usage with no subject left out, made once;
	// its pairs (sorted by vendor) are what term copies for a subject.
	all   *ast.Term
	pairs [][2]*ast.Term
	index map[string]int // vendor -> its place in pairs

	// byCategory indexes pairs by the category the catalogue of[0] gives
	// each vendor (input.portfolio.peers), made once per catalogue.
	mu         sync.Mutex
	of         *Catalogue
	byCategory map[string][]int
}

type usageRef struct{ namespace, name string }

var keyIntegrationsCount = ast.InternedTerm("integrations")

// NewUsage indexes integrations by vendor; it keeps no pointer to them.
func NewUsage(integrations []*v1alpha1.SaaSIntegration) *Usage {
	u := &Usage{byVendor: map[string]int{}, vendorOf: map[usageRef]string{}}
	for _, si := range integrations {
		if si == nil || si.Spec.Vendor == "" {
			continue
		}
		ref := usageRef{si.Namespace, si.Name}
		if _, dup := u.vendorOf[ref]; dup {
			continue
		}
		u.vendorOf[ref] = si.Spec.Vendor
		u.byVendor[si.Spec.Vendor]++
	}
	vendors := slices.Sorted(maps.Keys(u.byVendor))
	u.pairs = make([][2]*ast.Term, len(vendors))
	u.index = make(map[string]int, len(vendors))
	for i, vendor := range vendors {
		u.pairs[i] = usagePair(vendor, u.byVendor[vendor])
		u.index[vendor] = i
	}
	u.all = ast.ObjectTerm(u.pairs...)
	return u
}

func usagePair(vendor string, n int) [2]*ast.Term {
	return ast.Item(ast.StringTerm(vendor), ast.ObjectTerm(ast.Item(keyIntegrationsCount, ast.IntNumberTerm(n))))
}

// Integrations returns how many SaaSIntegrations use vendor; -1 when the
// usage is unknown (nil).
func (u *Usage) Integrations(vendor string) int {
	if u == nil {
		return -1
	}
	return u.byVendor[vendor]
}

// term is input.portfolio.usage seen from one subject: for each vendor
// some integration uses, {integrations: how many, self excluded}. The
// counts never depend on the order objects were created in, so every door
// (admission included, which sees the world before the subject exists)
// gives the same facts. Without a subject, or for one the usage does not
// count, it is the one term made by NewUsage; otherwise a copy with the
// subject's vendor counted one less (left out at zero).
func (u *Usage) term(self *usageRef) *ast.Term {
	if self == nil {
		return u.all
	}
	vendor, counted := u.vendorOf[*self]
	if !counted {
		return u.all
	}
	i := u.index[vendor]
	pairs := make([][2]*ast.Term, 0, len(u.pairs))
	pairs = append(pairs, u.pairs[:i]...)
	if n := u.byVendor[vendor] - 1; n > 0 {
		pairs = append(pairs, usagePair(vendor, n))
	}
	pairs = append(pairs, u.pairs[i+1:]...)
	return ast.ObjectTerm(pairs...)
}

// categoryIndex returns, for each category of cat, the places in pairs
// of the used vendors cat gives that category (vendors it does not know
// are left out), made once for each catalogue the usage is seen with.
func (u *Usage) categoryIndex(cat *Catalogue) map[string][]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.of == cat && u.byCategory != nil {
		return u.byCategory
	}
	idx := map[string][]int{}
	for vendor, i := range u.index {
		if v := cat.Vendors()[vendor]; v != nil {
			c := string(v.Spec.Category)
			idx[c] = append(idx[c], i)
		}
	}
	for _, places := range idx {
		slices.Sort(places)
	}
	u.of, u.byCategory = cat, idx
	return idx
}

// peers is input.portfolio.usage of a SaaSIntegration whose vendor is of
// category: the vendors in use of that category, the subject left out.
// It is built from the category index, so judging one integration does
// not grow with every vendor in use.
func (u *Usage) peers(cat *Catalogue, category string, self usageRef) *ast.Term {
	places := u.categoryIndex(cat)[category]
	own, counted := u.vendorOf[self]
	pairs := make([][2]*ast.Term, 0, len(places))
	for _, i := range places {
		if counted && i == u.index[own] {
			if n := u.byVendor[own] - 1; n > 0 {
				pairs = append(pairs, usagePair(own, n))
			}
			continue
		}
		pairs = append(pairs, u.pairs[i])
	}
	return ast.ObjectTerm(pairs...)
}

var keyPortfolio = ast.InternedTerm("portfolio")

// portfolioTerm is input.portfolio for subject (a Vendor or a
// SaaSIntegration; nil for other kinds). x is the subject as the request
// holds it (typed, unstructured or a map).
func portfolioTerm(req *Request, subject *input.Object, x any, now time.Time) *ast.Term {
	switch subject.Kind {
	case v1alpha1.KindSaaSIntegration:
		pairs := [][2]*ast.Term{}
		if req.Usage != nil {
			// The vendors of the integration's own category: all that
			// vendor-overlap compares, and what keeps one integration's
			// cost from growing with every vendor in use. A vendor the
			// catalogue does not know: all of them.
			self := usageRef{namespace: subject.Namespace, name: subject.Name}
			usage := (*ast.Term)(nil)
			cat, v := integrationVendor(req, subject)
			switch {
			case v != nil && noOverlap(v.Spec.Category):
				// Never compared: vendor-overlap leaves these
				// categories out, and with them the catalogue's long
				// tail, which would make each of these integrations
				// cost as much as the tail is long.
				usage = input.EmptyObject()
			case v != nil:
				usage = req.Usage.peers(cat, string(v.Spec.Category), self)
			default:
				usage = req.Usage.term(&self)
			}
			pairs = append(pairs, ast.Item(ast.InternedTerm("usage"), usage))
		}
		return ast.ObjectTerm(pairs...)
	case v1alpha1.KindVendor:
		v, err := typedVendor(x)
		if err != nil || v == nil {
			return input.EmptyObject()
		}
		return vendorFacts(v, req.Usage, Portfolio(req.Standard), now)
	}
	return nil
}

// noOverlap reports whether vendors of category never overlap one another:
// other (the catalogue's long tail) and no category at all.
func noOverlap(category v1alpha1.VendorCategory) bool {
	return category == "" || category == "other"
}

// integrationVendor returns the request's catalogue (made now when the
// request has only Vendors) and the Vendor a SaaSIntegration subject
// names; nil when the catalogue has none.
func integrationVendor(req *Request, subject *input.Object) (*Catalogue, *v1alpha1.Vendor) {
	name, _ := lookup(subject.Value, []string{"spec", "vendor"})
	vendor, _ := name.(ast.String)
	cat := req.Catalogue
	if cat == nil {
		cat = &Catalogue{vendors: req.Vendors}
	}
	return cat, cat.Vendors()[string(vendor)]
}

// vendorFacts is input.portfolio for a Vendor (see docs/policies.md).
func vendorFacts(v *v1alpha1.Vendor, usage *Usage, s PortfolioSettings, now time.Time) *ast.Term {
	now = seconds(now)
	deadlines := make([][2]*ast.Term, 0, 4)
	for _, d := range Deadlines(v) {
		passed := d.Passed(now)
		days := wholeDays(d.At.Sub(now))
		if passed {
			days = wholeDays(now.Sub(d.At))
		}
		deadlines = append(deadlines, ast.Item(ast.StringTerm(d.What), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("at"), ast.StringTerm(d.At.Format(time.RFC3339))),
			ast.Item(ast.InternedTerm("date"), ast.StringTerm(d.At.Format(time.DateOnly))),
			ast.Item(ast.InternedTerm("passed"), ast.BooleanTerm(passed)),
			ast.Item(ast.InternedTerm("soon"), ast.BooleanTerm(d.InWindow(s.RenewalWarningDays, now))),
			ast.Item(ast.InternedTerm("days"), ast.IntNumberTerm(days)),
		)))
	}
	pairs := [][2]*ast.Term{
		ast.Item(ast.InternedTerm("renewalWarningDays"), ast.IntNumberTerm(s.RenewalWarningDays)),
		ast.Item(ast.InternedTerm("unusedAfterDays"), ast.IntNumberTerm(s.UnusedAfterDays)),
		ast.Item(ast.InternedTerm("deadlines"), ast.ObjectTerm(deadlines...)),
	}
	if usage != nil {
		n := usage.Integrations(v.Name)
		pairs = append(pairs,
			ast.Item(ast.InternedTerm("integrations"), ast.IntNumberTerm(n)),
			ast.Item(ast.InternedTerm("usage"), usage.term(nil)),
		)
		if since, ok := UnusedSince(v); ok && n == 0 {
			overdue, _ := UnusedFinding(v, n, s, now)
			pairs = append(pairs, ast.Item(ast.InternedTerm("unused"), ast.ObjectTerm(
				ast.Item(ast.InternedTerm("since"), ast.StringTerm(since.Format(time.RFC3339))),
				ast.Item(ast.InternedTerm("date"), ast.StringTerm(since.Format(time.DateOnly))),
				ast.Item(ast.InternedTerm("days"), ast.IntNumberTerm(max(0, wholeDays(now.Sub(since))))),
				ast.Item(ast.InternedTerm("overdue"), ast.BooleanTerm(overdue)),
			)))
		}
	}
	return ast.ObjectTerm(pairs...)
}

// typedVendor returns x as a typed Vendor.
func typedVendor(x any) (*v1alpha1.Vendor, error) {
	var m map[string]any
	switch o := input.PointerTo(x).(type) {
	case nil:
		return nil, nil
	case *v1alpha1.Vendor:
		return o, nil
	case *unstructured.Unstructured:
		if o == nil {
			return nil, nil
		}
		m = o.Object
	case map[string]any:
		m = o
	default:
		return nil, fmt.Errorf("policy: a Vendor of type %T", x)
	}
	var v v1alpha1.Vendor
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &v); err != nil {
		return nil, fmt.Errorf("policy: reading Vendor: %w", err)
	}
	return &v, nil
}
