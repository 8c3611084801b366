package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/policies"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheckTime(t *testing.T) {
	for _, tc := range []struct {
		at string
		ok bool
	}{
		{"1600-01-01T00:00:00Z", false},
		{"1677-12-31T23:59:59Z", false},
		{"1678-01-01T00:00:00Z", true},
		{"2026-12-01T00:00:00Z", true},
		{"2261-12-31T23:59:59Z", true},
		{"2262-01-01T00:00:00Z", false},
		// The last second Rego's nanoseconds hold, and the first they do not.
		{"2262-04-11T23:47:16Z", false},
		{"2262-04-11T23:47:17Z", false},
		{"9999-12-31T23:59:59Z", false},
		// Offsets count: this is 2261-12-31T23:00:00Z.
		{"2262-01-01T00:00:00+01:00", true},
	} {
		err := CheckTime("spec.expiresAt", mustTime(t, tc.at))
		if (err == nil) != tc.ok {
			t.Errorf("CheckTime(%s) = %v, want ok=%v", tc.at, err, tc.ok)
		}
		if InRange(mustTime(t, tc.at)) != tc.ok {
			t.Errorf("InRange(%s) = %v, want %v", tc.at, !tc.ok, tc.ok)
		}
	}
	err := CheckTime("spec.expiresAt", mustTime(t, "9999-12-31T23:59:59Z"))
	want := "spec.expiresAt: 9999-12-31T23:59:59Z is outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z"
	if err == nil || err.Error() != want {
		t.Errorf("CheckTime = %v, want %q", err, want)
	}
	if err := CheckTime("spec.expiresAt", time.Time{}); err != nil {
		t.Errorf("CheckTime(zero) = %v: an unset time is left to the field's own rules", err)
	}
	if got := MinTime.Format(time.RFC3339) + ".." + MaxTime.Add(-time.Second).Format(time.RFC3339); got != TimeRange {
		t.Errorf("TimeRange = %q, MinTime..MaxTime-1s = %q", TimeRange, got)
	}
}

// TestRegoAgreesOnTimeRange: every built-in that judges times holds the
// same range as Go (the Rego modules cannot import Go constants).
func TestRegoAgreesOnTimeRange(t *testing.T) {
	mods, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	opts := []func(*rego.Rego){rego.SetRegoVersion(ast.RegoV1)}
	var withRange []string
	for name, src := range mods {
		opts = append(opts, rego.Module(name, src))
		if strings.Contains(src, "time.parse_rfc3339_ns") {
			withRange = append(withRange, strings.TrimSuffix(name, ".rego"))
		}
	}
	if len(withRange) < 4 {
		t.Fatalf("modules parsing times: %v, want at least the four that compare dates", withRange)
	}
	for _, pkg := range withRange {
		for rule, want := range map[string]any{
			"min_ns":          MinTime.UnixNano(),
			"max_ns":          MaxTime.UnixNano(),
			"supported_range": TimeRange,
		} {
			q := "data.guardrails.builtin." + pkg + "." + rule
			rs, err := rego.New(append(opts, rego.Query(q))...).Eval(context.Background())
			if err != nil || len(rs) != 1 {
				t.Errorf("%s: %v (%d results): a module parsing times must define it", q, err, len(rs))
				continue
			}
			if got := fmt.Sprint(rs[0].Expressions[0].Value); got != fmt.Sprint(want) {
				t.Errorf("%s = %s, want %v (internal/policy/timebounds.go)", q, got, want)
			}
		}
	}
}

// TestOutOfRangeDatesNeverPass: every date a built-in compares, outside
// the supported range, gives a result naming the field, never a pass.
func TestOutOfRangeDatesNeverPass(t *testing.T) {
	e := builtinEngine(t)
	far := mustTime(t, "9999-12-31T23:59:59Z")
	past := mustTime(t, "1600-01-01T00:00:00Z")
	edge := mustTime(t, "2262-04-11T23:47:17Z")

	dpaAt := func(expires time.Time) vendorOpt {
		return func(v *v1alpha1.Vendor) {
			at := metav1.NewTime(expires)
			v.Spec.DPA = &v1alpha1.DPA{Signed: true, Reference: "DPA-1", Expires: &at}
		}
	}
	campaignEnds := func(end time.Time) workloadOpt {
		return func(w *v1alpha1.MarketingWorkload) { w.Spec.Campaign.EndsAt = at(end) }
	}
	campaignStarts := func(start time.Time) workloadOpt {
		return func(w *v1alpha1.MarketingWorkload) { w.Spec.Campaign.StartsAt = at(start) }
	}

	tests := []struct {
		name string
		req  Request
		want []finding
	}{
		{
			name: "exception expiring 9999-12-31",
			req:  request(exception("forever", far, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))),
			want: []finding{{"exception-cap", "deny", "spec.expiresAt"}},
		},
		{
			name: "exception expiring at 2262-04-11T23:47:17Z",
			req:  request(exception("forever", edge, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))),
			want: []finding{{"exception-cap", "deny", "spec.expiresAt"}},
		},
		{
			name: "an exception expiring 9999-12-31 waives nothing",
			req: request(workload(withImage("nginx:1.27")),
				withExceptions(exception("forever", far, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale")))),
			want: []finding{{"allowed-registries", "deny", "spec.image"}},
		},
		{
			name: "campaign ending in 2263",
			req:  request(workload(campaignEnds(mustTime(t, "2263-01-01T00:00:00Z")))),
			want: []finding{{"campaign-window", "deny", "spec.campaign.endsAt"}},
		},
		{
			name: "campaign starting in 1600",
			req:  request(workload(campaignStarts(past))),
			want: []finding{{"campaign-window", "deny", "spec.campaign.startsAt"}},
		},
		{
			name: "DPA that expired in 1600",
			req: request(integration("crm", sending("user.financial"), withLegalBasis(v1alpha1.LegalBasisConsent)),
				withCatalogue(vendor("hubspot", dpaAt(past)))),
			want: []finding{{"sensitive-data-dpa", "deny", "spec.dataCategories[0]"}},
		},
		{
			name: "DPA expiring 9999-12-31",
			req: request(integration("crm", sending("user.financial"), withLegalBasis(v1alpha1.LegalBasisConsent)),
				withCatalogue(vendor("hubspot", dpaAt(far)))),
			want: []finding{{"sensitive-data-dpa", "deny", "spec.dataCategories[0]"}},
		},
		{
			name: "credentials rotated in 1600",
			req: request(integration("crm"),
				withSecret("crm-creds", SecretInfo{Exists: true, CreatedAt: testNow.Add(-days(10)), RotatedAt: past})),
			want: []finding{{"credential-age", "warn", "spec.credentials.secretName"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := evaluate(t, e, tc.req)
			if got := findings(d); !equalFindings(got, tc.want) {
				t.Errorf("findings = %v, want %v%s", got, tc.want, describe(d))
			}
			for _, r := range d.Results {
				if r.Enforcement != "audit" && !strings.Contains(r.Message, "outside the supported range") && r.Policy != "allowed-registries" {
					t.Errorf("%s: %q does not say the time is outside the supported range", r.Policy, r.Message)
				}
			}
		})
	}
}

func equalFindings(a, b []finding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNowOutOfRange: the engine refuses to judge at an instant outside the
// range rather than let every time comparison go undefined.
func TestNowOutOfRange(t *testing.T) {
	e := builtinEngine(t)
	for _, now := range []string{"9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"} {
		req := request(workload())
		req.Now = mustTime(t, now)
		_, err := e.Evaluate(context.Background(), req)
		want := "now: " + now + " is outside the supported range " + TimeRange
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Evaluate at %s: %v, want an error containing %q", now, err, want)
		}
	}
}

// TestExpiryOutOfRange: the Go side of the expiry rule agrees with the
// Rego: a date outside the range is not a valid one.
func TestExpiryOutOfRange(t *testing.T) {
	for _, s := range []string{"1600-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2262-01-01T00:00:00Z"} {
		exp := mustTime(t, s)
		at := metav1.NewTime(exp)
		v := vendor("hubspot")
		v.Spec.DPA = &v1alpha1.DPA{Signed: true, Expires: &at}
		v.Spec.SecurityReview = &v1alpha1.SecurityReview{Completed: true, Expires: &at}
		d := Dates(v, testNow)
		if d.DPAValid() || !d.DPAOutOfRange || !d.ReviewOutOfRange || !d.ReviewExpired {
			t.Errorf("Dates with %s = %+v, want out of range and not valid", s, d)
		}
		pex := exception("x", exp, []string{"allowed-registries"})
		if ExceptionActive(&pex, testNow) {
			t.Errorf("an exception expiring %s is active: it must waive nothing", s)
		}
	}
	last := mustTime(t, "2261-12-31T23:59:59Z")
	pex := exception("x", last, []string{"allowed-registries"})
	if !ExceptionActive(&pex, testNow) {
		t.Error("an exception expiring at the last second of the range is not active")
	}
}
