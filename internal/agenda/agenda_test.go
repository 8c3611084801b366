package agenda

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// now is when the tests make the agenda.
var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return now.Add(time.Duration(n) * policy.Day) }

func mt(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

type vendorOpt func(*v1alpha1.Vendor)

func vendor(name string, opts ...vendorOpt) *v1alpha1.Vendor {
	v := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.VendorSpec{DisplayName: strings.ToUpper(name), Status: v1alpha1.VendorApproved}}
	for _, o := range opts {
		o(v)
	}
	return v
}

func contract(renews time.Time, notice int32, auto bool) vendorOpt {
	return func(v *v1alpha1.Vendor) {
		v.Spec.Contract = &v1alpha1.Contract{RenewsAt: mt(renews), NoticeDays: &notice, AutoRenew: auto, AnnualCost: &v1alpha1.Money{Amount: "1200.00", Currency: "EUR"}}
	}
}

func dpa(expires time.Time, signed bool) vendorOpt {
	return func(v *v1alpha1.Vendor) {
		v.Spec.DPA = &v1alpha1.DPA{Signed: signed, Reference: "DPA-1", Expires: mt(expires)}
	}
}

func review(expires time.Time) vendorOpt {
	return func(v *v1alpha1.Vendor) {
		v.Spec.SecurityReview = &v1alpha1.SecurityReview{Completed: true, Expires: mt(expires)}
	}
}

func owned(team, contact string) vendorOpt {
	return func(v *v1alpha1.Vendor) { v.Spec.Owner = &v1alpha1.Owner{Team: team, Contact: contact} }
}

func workload(name string, starts, ends time.Time, owner v1alpha1.Owner, integrations ...string) *v1alpha1.MarketingWorkload {
	mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mkt"}}
	mw.Spec.Owner = owner
	if !ends.IsZero() {
		mw.Spec.Campaign = &v1alpha1.Campaign{Name: name + "-campaign", StartsAt: metav1.NewTime(starts), EndsAt: metav1.NewTime(ends)}
	}
	for _, i := range integrations {
		mw.Spec.Integrations = append(mw.Spec.Integrations, v1alpha1.IntegrationRef{Name: i})
	}
	return mw
}

func integration(name, secret string, owner *v1alpha1.Owner) *v1alpha1.SaaSIntegration {
	si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mkt"}}
	si.Spec.Vendor = "crm"
	si.Spec.Owner = owner
	if secret != "" {
		si.Spec.Credentials = &v1alpha1.Credentials{SecretName: secret}
	}
	return si
}

func exception(name string, expires time.Time, targets ...v1alpha1.ExceptionTarget) *v1alpha1.PolicyException {
	return &v1alpha1.PolicyException{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mkt"},
		Spec: v1alpha1.PolicyExceptionSpec{
			Policies: []string{"data-residency"}, Targets: targets, Reason: "pilot",
			ApprovedBy: "dpo@acme.example", ExpiresAt: metav1.NewTime(expires),
		},
	}
}

func standard(maxAge, archiveAfter time.Duration) *v1alpha1.PlatformStandard {
	std := &v1alpha1.PlatformStandard{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if maxAge > 0 {
		std.Spec.Credentials.MaxAge = &metav1.Duration{Duration: maxAge}
	}
	if archiveAfter > 0 {
		std.Spec.Campaign.ArchiveAfter = &metav1.Duration{Duration: archiveAfter}
	}
	return std
}

// src is a source of objs, with std in force everywhere and secrets known
// by name.
func src(std *v1alpha1.PlatformStandard, secrets map[string]policy.SecretInfo, objs ...client.Object) Source {
	s := Source{
		Standard: func(context.Context, string) *v1alpha1.PlatformStandard { return std },
		Secret: func(_ context.Context, _, name string) (policy.SecretInfo, error) {
			return secrets[name], nil
		},
	}
	for i, o := range objs {
		s.Objects = append(s.Objects, Object{Object: o, Pos: "in.yaml:" + string(rune('1'+i))})
	}
	return s
}

func build(t *testing.T, within time.Duration, sources ...Source) []Item {
	t.Helper()
	items, err := Build(context.Background(), sources, Options{Now: now, Within: within})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// line is an item as "date what name overdue who", for comparisons.
func line(it Item) string {
	s := it.At.Format(time.RFC3339) + " " + it.What + " " + it.Name
	if it.Overdue {
		s += " OVERDUE"
	}
	return s + " | " + it.Who
}

func lines(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(line(it) + "\n")
	}
	return b.String()
}

func wantLines(t *testing.T, items []Item, want ...string) {
	t.Helper()
	got := lines(items)
	if w := strings.Join(want, "\n") + "\n"; len(want) == 0 && got != "" || len(want) > 0 && got != w {
		t.Errorf("items:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestVendorDeadlinesWithinWindow(t *testing.T) {
	// Notice at renewsAt-30d = day 40; renewal day 70; DPA day 80;
	// review day 100 (outside 90 days).
	v := vendor("crm", contract(day(70), 30, true), dpa(day(80), true), review(day(100)), owned("crm-ops", "crm@acme.example"))
	items := build(t, 0, src(nil, nil, v))
	wantLines(t, items,
		"2027-01-10T00:00:00Z contract-notice crm | crm-ops <crm@acme.example>",
		"2027-02-09T00:00:00Z contract-renewal crm | crm-ops <crm@acme.example>",
		"2027-02-19T00:00:00Z dpa-expiry crm | crm-ops <crm@acme.example>",
	)
	for _, it := range items {
		if it.Cost == nil || it.Cost.Amount != "1200.00" || it.Cost.Currency != "EUR" {
			t.Errorf("%s: cost %+v", it.What, it.Cost)
		}
		if it.Kind != v1alpha1.KindVendor || it.Namespace != "" || it.Pos != "in.yaml:1" {
			t.Errorf("object of %+v", it)
		}
	}
	if a := items[0].AutoRenew; a == nil || !*a {
		t.Errorf("notice autoRenew = %v", a)
	}
	if items[0].Days != 40 || !strings.Contains(items[0].Summary, "auto-renews on 2027-02-09") {
		t.Errorf("notice: days %d, %q", items[0].Days, items[0].Summary)
	}
	if items[2].AutoRenew != nil {
		t.Error("a DPA item says nothing of renewal")
	}
	// A longer window reaches the review.
	if n := len(build(t, 120*policy.Day, src(nil, nil, v))); n != 4 {
		t.Errorf("within 120 days: %d items", n)
	}
	// Exactly at the end of the window: listed.
	if n := len(build(t, 40*policy.Day, src(nil, nil, v))); n != 1 {
		t.Errorf("within 40 days: %d items, want the notice on day 40", n)
	}
}

func TestVendorOverdue(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    *v1alpha1.Vendor
		want []string
	}{{
		name: "notice passed, renewal ahead, auto-renewing",
		v:    vendor("a", contract(day(10), 30, true)),
		want: []string{
			"2026-11-11T00:00:00Z contract-notice a OVERDUE | IT (catalogue)",
			"2026-12-11T00:00:00Z contract-renewal a | IT (catalogue)",
		},
	}, {
		name: "renewal passed: only the renewal stays open",
		v:    vendor("b", contract(day(-5), 30, false)),
		want: []string{"2026-11-26T00:00:00Z contract-renewal b OVERDUE | IT (catalogue)"},
	}, {
		name: "expired DPA and review stay; an unsigned DPA has no date",
		v:    vendor("c", dpa(day(-400), true), review(day(-1))),
		want: []string{
			"2025-10-27T00:00:00Z dpa-expiry c OVERDUE | IT (catalogue)",
			"2026-11-30T00:00:00Z security-review-expiry c OVERDUE | IT (catalogue)",
		},
	}, {
		name: "unsigned DPA",
		v:    vendor("d", dpa(day(5), false)),
	}, {
		name: "a deadline at now has passed (policy.Expired)",
		v:    vendor("e", review(now)),
		want: []string{"2026-12-01T00:00:00Z security-review-expiry e OVERDUE | IT (catalogue)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			items := build(t, 0, src(nil, nil, tc.v))
			wantLines(t, items, tc.want...)
			for _, it := range items {
				if it.Overdue != (it.Days < 0 || it.At.Equal(now)) {
					t.Errorf("%s: overdue %t, days %d", it.What, it.Overdue, it.Days)
				}
			}
		})
	}
	notice := build(t, 0, src(nil, nil, vendor("a", contract(day(10), 30, true))))[0]
	if !strings.Contains(notice.Summary, "renews automatically on 2026-12-11") {
		t.Errorf("overdue notice: %q", notice.Summary)
	}
	ends := build(t, 0, src(nil, nil, vendor("x", contract(day(60), 30, false))))
	if !strings.Contains(ends[0].Summary, "no auto-renewal") || *ends[0].AutoRenew {
		t.Errorf("non-renewing notice: %+v", ends[0])
	}
}

func TestExceptions(t *testing.T) {
	si := integration("pilot", "", &v1alpha1.Owner{Team: "growth", Contact: "growth@acme.example"})
	orphan := integration("orphan", "", nil)
	mw := workload("site", time.Time{}, time.Time{}, v1alpha1.Owner{Contact: "site@acme.example"}, "orphan")
	items := build(t, 0, src(nil, nil, si, orphan, mw,
		exception("soon", day(30), v1alpha1.ExceptionTarget{Kind: v1alpha1.KindSaaSIntegration, Name: "pilot"}),
		exception("gone", day(-3), v1alpha1.ExceptionTarget{Kind: v1alpha1.KindSaaSIntegration, Name: "orphan"}),
		exception("unknown-target", day(20), v1alpha1.ExceptionTarget{Kind: v1alpha1.KindMarketingWorkload, Name: "elsewhere"}),
		exception("far", day(200), v1alpha1.ExceptionTarget{Kind: v1alpha1.KindSaaSIntegration, Name: "pilot"}),
	))
	wantLines(t, items,
		"2026-11-28T00:00:00Z exception-expiry gone OVERDUE | site@acme.example",
		"2026-12-21T00:00:00Z exception-expiry unknown-target | approver dpo@acme.example",
		"2026-12-31T00:00:00Z exception-expiry soon | growth <growth@acme.example>",
	)
	if !strings.Contains(items[0].Summary, "no longer waived") || !strings.Contains(items[2].Summary, "data-residency stop being waived for SaaSIntegration pilot") {
		t.Errorf("summaries:\n%s\n%s", items[0].Summary, items[2].Summary)
	}
}

func TestCampaigns(t *testing.T) {
	owner := v1alpha1.Owner{Team: "growth", Contact: "growth@acme.example"}
	std := standard(0, 10*policy.Day)
	active := workload("active", day(-10), day(20), owner)
	ended := workload("ended", day(-30), day(-5), owner)        // archived on day 5
	archived := workload("archived", day(-60), day(-20), owner) // archived on day -10
	scheduled := workload("scheduled", day(5), day(100), owner) // ends outside 90 days
	always := workload("always", time.Time{}, time.Time{}, owner)
	items := build(t, 0, src(std, nil, active, ended, archived, scheduled, always))
	wantLines(t, items,
		"2026-12-06T00:00:00Z campaign-archive ended | growth <growth@acme.example>",
		"2026-12-21T00:00:00Z campaign-end active | growth <growth@acme.example>",
		"2026-12-31T00:00:00Z campaign-archive active | growth <growth@acme.example>",
	)
	// Without a standard, archiveAfter is the operator's default (30 days).
	items = build(t, 0, src(nil, nil, active))
	wantLines(t, items,
		"2026-12-21T00:00:00Z campaign-end active | growth <growth@acme.example>",
		"2027-01-20T00:00:00Z campaign-archive active | growth <growth@acme.example>",
	)
	// A workload the operator archived stays archived (status.archivedAt).
	done := workload("done", day(-30), day(-5), v1alpha1.Owner{})
	done.Status.ArchivedAt = mt(day(-1))
	if items := build(t, 0, src(nil, nil, done)); len(items) != 0 {
		t.Errorf("archived workload: %s", lines(items))
	}
	// No owner: who says so.
	items = build(t, 0, src(std, nil, workload("nobody", day(-1), day(1), v1alpha1.Owner{})))
	if len(items) != 2 || items[0].Who != NoOwner {
		t.Errorf("workload without owner: %s", lines(items))
	}
}

func TestCredentials(t *testing.T) {
	std := standard(90*policy.Day, 0)
	owner := &v1alpha1.Owner{Contact: "crm@acme.example"}
	secrets := map[string]policy.SecretInfo{
		"fresh":   {Exists: true, CreatedAt: day(-60)},                       // stale on day 30
		"rotated": {Exists: true, CreatedAt: day(-400), RotatedAt: day(-80)}, // stale on day 10
		"stale":   {Exists: true, CreatedAt: day(-100)},                      // stale since day -10
		"nodate":  {Exists: true},                                            // a file without creationTimestamp
		"missing": {Exists: false},
	}
	mw := workload("site", time.Time{}, time.Time{}, v1alpha1.Owner{Team: "web"}, "users-only")
	items := build(t, 0, src(std, secrets, mw,
		integration("fresh", "fresh", owner),
		integration("rotated", "rotated", owner),
		integration("users-only", "stale", nil),
		integration("nodate", "nodate", owner),
		integration("missing", "missing", owner),
		integration("none", "", owner),
	))
	wantLines(t, items,
		"2026-11-21T00:00:01Z credentials-max-age users-only OVERDUE | web",
		"2026-12-11T00:00:01Z credentials-max-age rotated | crm@acme.example",
		"2026-12-31T00:00:01Z credentials-max-age fresh | crm@acme.example",
	)
	// The instant is the one credential-age (and the audit's NextChange)
	// use: maxAge exceeded by a whole second.
	at, _ := policy.CredentialsStaleAt(secrets["fresh"], 90*policy.Day)
	if !items[2].At.Equal(at) {
		t.Errorf("fresh at %s, policy says %s", items[2].At, at)
	}
	if !strings.Contains(items[1].Summary, "last rotated 2026-09-12") || !strings.Contains(items[1].Summary, "90 days") {
		t.Errorf("rotated: %q", items[1].Summary)
	}
	// Without maxAge in the standard (or without a standard), no item.
	for _, std := range []*v1alpha1.PlatformStandard{nil, standard(0, 0)} {
		if items := build(t, 0, src(std, secrets, integration("fresh", "fresh", owner))); len(items) != 0 {
			t.Errorf("no maxAge: %s", lines(items))
		}
	}
}

func TestOrderAndClusters(t *testing.T) {
	v := vendor("crm", review(day(10)))
	a, b := src(nil, nil, v), src(nil, nil, v)
	a.Cluster, b.Cluster = "prod-eu", "prod-us"
	items := build(t, 0, b, a)
	if len(items) != 2 || items[0].Cluster != "prod-eu" || items[1].Cluster != "prod-us" {
		t.Fatalf("by cluster on a tie: %+v", items)
	}
	if UID(items[0]) == UID(items[1]) {
		t.Error("the same object in two clusters has one UID")
	}
	// Same instant, same object: in the order of the What constants.
	v2 := vendor("same", contract(day(30), 0, true), dpa(day(30), true), review(day(30)))
	got := build(t, 0, src(nil, nil, v2))
	var whats []string
	for _, it := range got {
		whats = append(whats, it.What)
	}
	if strings.Join(whats, ",") != "contract-notice,contract-renewal,dpa-expiry,security-review-expiry" {
		t.Errorf("tie order: %v", whats)
	}
}

func TestUIDStableAcrossDates(t *testing.T) {
	before := build(t, 0, src(nil, nil, vendor("crm", contract(day(60), 30, true))))
	after := build(t, 500*policy.Day, src(nil, nil, vendor("crm", contract(day(365+60), 30, true))))
	if len(before) != 2 || len(after) != 2 {
		t.Fatalf("items: %s / %s", lines(before), lines(after))
	}
	for i := range before {
		if before[i].At.Equal(after[i].At) {
			t.Fatal("the dates did not move")
		}
		if UID(before[i]) != UID(after[i]) {
			t.Errorf("%s: UID changed with the date", before[i].What)
		}
	}
	if UID(before[0]) == UID(before[1]) {
		t.Error("notice and renewal share a UID")
	}
	if !strings.HasSuffix(UID(before[0]), "@"+UIDDomain) {
		t.Errorf("UID %s", UID(before[0]))
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		policy.Day: "1 day", 90 * policy.Day: "90 days", 36 * time.Hour: "36h0m0s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
