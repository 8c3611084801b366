package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

func portfolioVendor(name, category string, renews time.Time, noticeDays int32, auto bool) *v1alpha1.Vendor { //nolint:unparam // either renewal; the cases auto-renew today
	r := metav1.NewTime(renews)
	starts := metav1.NewTime(renews.AddDate(-1, 0, 0))
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.VendorSpec{
			DisplayName: name, Category: v1alpha1.VendorCategory(category), Status: v1alpha1.VendorApproved,
			Contract: &v1alpha1.Contract{
				Reference: "PROC-1", AnnualCost: &v1alpha1.Money{Amount: "24000.00", Currency: "EUR"},
				StartsAt: &starts, RenewsAt: &r, NoticeDays: &noticeDays, AutoRenew: auto,
			},
		},
	}
}

func TestDeadlinesAndBoundaries(t *testing.T) {
	renews := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	v := portfolioVendor("contentful", "cms", renews, 60, true)
	exp := metav1.NewTime(time.Date(2027, 2, 1, 12, 0, 0, 0, time.UTC))
	v.Spec.DPA = &v1alpha1.DPA{Signed: true, Expires: &exp}
	notice := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)

	got := Deadlines(v)
	want := []Deadline{{DeadlineNotice, notice}, {DeadlineDPA, exp.Time}, {DeadlineRenewal, renews}}
	if len(got) != len(want) {
		t.Fatalf("Deadlines = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].What != want[i].What || !got[i].At.Equal(want[i].At) {
			t.Errorf("Deadlines[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	s := Portfolio(nil)
	windowStart := notice.Add(-60 * Day)
	// Strictly before: in the window from its first second, passed from
	// the deadline's first second (the one expiry rule).
	for _, tc := range []struct {
		now            time.Time
		inWindow, past bool
	}{
		{windowStart.Add(-time.Second), false, false},
		{windowStart, true, false},
		{notice.Add(-time.Second), true, false},
		{notice.Add(-time.Millisecond), true, false}, // whole seconds
		{notice, false, true},
	} {
		d := got[0]
		if d.InWindow(s.RenewalWarningDays, tc.now) != tc.inWindow || d.Passed(tc.now) != tc.past {
			t.Errorf("at %s: in window %v, passed %v; want %v, %v", tc.now, d.InWindow(60, tc.now), d.Passed(tc.now), tc.inWindow, tc.past)
		}
	}
	if next, _ := NextDeadline(v, notice); next.What != DeadlineDPA {
		t.Errorf("NextDeadline at the notice deadline = %v, want the DPA", next)
	}
	// The boundaries a reconciler requeues at, in order.
	now := windowStart.Add(-Day)
	var seen []time.Time
	for range 10 {
		next := NextVendorChange(v, 1, s, now)
		if next.IsZero() {
			break
		}
		seen = append(seen, next)
		now = next
	}
	// The renewal's window opens at the notice deadline (60 days each).
	wantSeen := []time.Time{windowStart, exp.Add(-60 * Day), notice, exp.Time, renews}
	if len(seen) != len(wantSeen) {
		t.Fatalf("boundaries %v, want %v", seen, wantSeen)
	}
	for i := range wantSeen {
		if !seen[i].Equal(wantSeen[i]) {
			t.Errorf("boundary %d = %s, want %s", i, seen[i], wantSeen[i])
		}
	}
}

func TestPortfolioThroughTheEngine(t *testing.T) {
	e := builtinEngine(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	incumbent := portfolioVendor("contentful", "cms", time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), 30, true) // notice deadline 2026-12-16: within 60 days
	newcomer := portfolioVendor("storyblok", "cms", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), 30, true)
	shelf := portfolioVendor("optimizely", "personalization", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), 30, true)
	vendors := map[string]*v1alpha1.Vendor{"contentful": incumbent, "storyblok": newcomer, "optimizely": shelf}
	si := func(name, vendor string) *v1alpha1.SaaSIntegration {
		return &v1alpha1.SaaSIntegration{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "web"},
			Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: vendor, DataUse: "essential.service"},
		}
	}
	sis := []*v1alpha1.SaaSIntegration{si("a", "contentful"), si("b", "contentful"), si("c", "storyblok")}
	usage := NewUsage(sis)
	cat, err := NewCatalogue(vendors)
	if err != nil {
		t.Fatal(err)
	}
	shared := false // a request with the Vendors only, or with the Catalogue too
	results := func(obj any, u *Usage) map[string]string {
		t.Helper()
		req := Request{Object: obj, Vendors: vendors, Usage: u, Now: now}
		if shared {
			req.Catalogue = cat
		}
		d, err := e.Evaluate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range d.Results {
			if r.Policy == "vendor-renewal" || r.Policy == "vendor-overlap" || r.Policy == "vendor-unused" {
				out[r.Policy] = r.Enforcement + ": " + r.Message
			}
		}
		return out
	}
	for _, shared = range []bool{false, true} {
		if got := results(sis[2], usage); got["vendor-overlap"] != "warn: the organisation already uses contentful (cms) in 2 integrations; consider it, or record why with an exception" {
			t.Errorf("the second CMS (catalogue shared: %v): %v", shared, got)
		}
		if got := results(sis[0], usage); len(got) != 0 {
			t.Errorf("the incumbent's integration (catalogue shared: %v): %v, want nothing", shared, got)
		}
	}
	if got := results(sis[2], nil); len(got) != 0 {
		t.Errorf("unknown usage: %v, want nothing", got)
	}
	if got := results(incumbent, usage); got["vendor-renewal"] != `warn: the notice deadline of vendor "contentful" (contract PROC-1, EUR 24000.00 a year) is 2026-12-16, in 15 days: the contract renews automatically on 2027-01-15` {
		t.Errorf("the incumbent vendor: %v", got)
	}
	// Unused since its contract started (2028-01-01 is ahead: not yet).
	if got := results(shelf, usage); len(got) != 0 {
		t.Errorf("a vendor whose contract has not started: %v", got)
	}
	started := metav1.NewTime(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	shelf.Spec.Contract.StartsAt = &started
	if got := results(shelf, usage); got["vendor-unused"] == "" {
		t.Errorf("unused since 2026-06-01: %v, want vendor-unused", got)
	}
	last := metav1.NewTime(now.Add(-89 * Day))
	shelf.Status.LastUsedAt = &last
	if got := results(shelf, usage); len(got) != 0 {
		t.Errorf("last used 89 days ago: %v, want nothing", got)
	}
	if got := results(shelf, NewUsage(append(sis, si("d", "optimizely")))); len(got) != 0 {
		t.Errorf("a used vendor: %v, want nothing", got)
	}
}

// input.portfolio.usage and .peers of a SaaSIntegration leave the subject
// out; peers holds only the vendors of the subject's vendor's category.
func TestUsageSeenFromASubject(t *testing.T) {
	at := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	vendors := map[string]*v1alpha1.Vendor{
		"contentful": portfolioVendor("contentful", "cms", at, 30, true),
		"storyblok":  portfolioVendor("storyblok", "cms", at, 30, true),
		"hubspot":    portfolioVendor("hubspot", "crm", at, 30, true),
	}
	cat, err := NewCatalogue(vendors)
	if err != nil {
		t.Fatal(err)
	}
	si := func(name, vendor string) *v1alpha1.SaaSIntegration {
		return &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "web"}, Spec: v1alpha1.SaaSIntegrationSpec{Vendor: vendor}}
	}
	u := NewUsage([]*v1alpha1.SaaSIntegration{si("a", "contentful"), si("b", "contentful"), si("c", "storyblok"), si("d", "hubspot"), si("e", "unlisted")})
	for _, c := range []struct {
		self        usageRef
		usage, peer string
	}{
		{usageRef{"web", "c"}, `{"contentful": {"integrations": 2}, "hubspot": {"integrations": 1}, "unlisted": {"integrations": 1}}`, `{"contentful": {"integrations": 2}}`},
		{usageRef{"web", "a"}, `{"contentful": {"integrations": 1}, "hubspot": {"integrations": 1}, "storyblok": {"integrations": 1}, "unlisted": {"integrations": 1}}`, `{"contentful": {"integrations": 1}, "storyblok": {"integrations": 1}}`},
		{usageRef{"web", "new"}, `{"contentful": {"integrations": 2}, "hubspot": {"integrations": 1}, "storyblok": {"integrations": 1}, "unlisted": {"integrations": 1}}`, `{"contentful": {"integrations": 2}, "storyblok": {"integrations": 1}}`},
	} {
		if got := u.term(&c.self).String(); got != c.usage {
			t.Errorf("usage seen from %v: %s, want %s", c.self, got, c.usage)
		}
		if got := u.peers(cat, "cms", c.self).String(); got != c.peer {
			t.Errorf("cms peers seen from %v: %s, want %s", c.self, got, c.peer)
		}
	}
	if got := u.term(nil); got != u.all {
		t.Error("the usage seen from no subject is made again")
	}
	first := u.categoryIndex(cat)
	if again := u.categoryIndex(cat); fmt.Sprint(again) != fmt.Sprint(first) || len(first["cms"]) != 2 || len(first["crm"]) != 1 {
		t.Errorf("category index %v, then %v", first, again)
	}
}

// An integration whose vendor is of the category other (the catalogue's
// long tail, never an overlap) gets an empty input.portfolio.usage; one of
// a comparable category gets its category's vendors.
func TestUsageOfTheLongTailIsEmpty(t *testing.T) {
	at := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	vendors := map[string]*v1alpha1.Vendor{
		"contentful": portfolioVendor("contentful", "cms", at, 30, true),
		"storyblok":  portfolioVendor("storyblok", "cms", at, 30, true),
		"pollster":   portfolioVendor("pollster", "other", at, 30, true),
		"surveyco":   portfolioVendor("surveyco", "other", at, 30, true),
	}
	cat, err := NewCatalogue(vendors)
	if err != nil {
		t.Fatal(err)
	}
	si := func(name, vendor string) *v1alpha1.SaaSIntegration {
		return &v1alpha1.SaaSIntegration{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindSaaSIntegration},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "web"},
			Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: vendor},
		}
	}
	sis := []*v1alpha1.SaaSIntegration{si("a", "contentful"), si("b", "storyblok"), si("c", "pollster"), si("d", "surveyco"), si("e", "surveyco")}
	req := &Request{Catalogue: cat, Usage: NewUsage(sis)}
	for _, c := range []struct {
		subject *v1alpha1.SaaSIntegration
		want    string
	}{
		{sis[2], `{"usage": {}}`},
		{sis[3], `{"usage": {}}`},
		{sis[0], `{"usage": {"storyblok": {"integrations": 1}}}`},
	} {
		obj, err := input.ToObject(c.subject)
		if err != nil {
			t.Fatal(err)
		}
		if got := portfolioTerm(req, obj, c.subject, at).String(); got != c.want {
			t.Errorf("input.portfolio of %s (vendor %s): %s, want %s", c.subject.Name, c.subject.Spec.Vendor, got, c.want)
		}
	}
}
