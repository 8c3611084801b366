package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/internal/policy"
)

// reports are two objects: one denied (and warned) with a waived result,
// one passing; the second is cluster-scoped.
func reports() []*ObjectReport {
	denied := New("MarketingWorkload", "w.yaml", 3, &policy.Decision{
		Namespace: "shop", Name: "promo",
		Policies: []string{"pinned-image-tags", "vendor-approved"},
		Disabled: []string{"budget"},
		Results: []policy.Result{
			{Policy: "pinned-image-tags", Enforcement: "deny", Severity: "high", Field: "spec.image", Message: "tag latest", Remediation: "pin a digest"},
			{Policy: "vendor-approved", Enforcement: "warn", Severity: "low", Message: "vendor pending"},
			{Policy: "region", Enforcement: "deny", Severity: "high", Message: "outside the EU",
				Exception: &policy.ExceptionRef{Namespace: "shop", Name: "pilot", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}},
		},
	})
	passed := New("Vendor", "v.yaml", 1, &policy.Decision{Name: "hubspot", Policies: []string{"vendor-dpa"}})
	return []*ObjectReport{denied, passed}
}

func write(t *testing.T, w Writer) Summary {
	t.Helper()
	var sum Summary
	for _, o := range reports() {
		sum.Add(o)
		if err := w.Object(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSummaryAndOutcomes(t *testing.T) {
	rs := reports()
	if rs[0].Outcome() != OutcomeDeny || rs[1].Outcome() != OutcomePassed {
		t.Errorf("outcomes %s, %s", rs[0].Outcome(), rs[1].Outcome())
	}
	if rs[0].Ref() != "MarketingWorkload/shop/promo" || rs[1].Ref() != "Vendor/hubspot" || rs[0].Pos() != "w.yaml:3" {
		t.Errorf("refs %s, %s at %s", rs[0].Ref(), rs[1].Ref(), rs[0].Pos())
	}
	var b bytes.Buffer
	sum := write(t, NewText(&b))
	if want := (Summary{Objects: 2, Deny: 1, Passed: 1, Waived: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	want := `w.yaml:3: MarketingWorkload shop/promo
  DENY   pinned-image-tags (high) spec.image: tag latest
         fix: pin a digest
  WARN   vendor-approved (low) vendor pending
  WAIVED region (high) outside the EU
         waived by PolicyException shop/pilot until 2027-01-01T00:00:00Z (would be deny)

2 objects: 1 deny, 0 warn, 0 audit, 1 passed (1 waived by exceptions)
`
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJSONCarriesEveryResultAndTheSummary(t *testing.T) {
	var b bytes.Buffer
	write(t, NewJSON(&b))
	var doc JSONReport
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(doc.Results) != 3 || doc.Results[2].Exception != "shop/pilot" || doc.Results[0].File != "w.yaml" || doc.Results[0].Line != 3 {
		t.Errorf("results %+v", doc.Results)
	}
	if doc.Summary.Objects != 2 || doc.Summary.Deny != 1 || doc.Summary.Waived != 1 {
		t.Errorf("summary %+v", doc.Summary)
	}
}

// The totals open the JUnit report although they are known only at the end
// (the suites are spooled).
func TestJUnitTotalsFirst(t *testing.T) {
	var b bytes.Buffer
	write(t, NewJUnit(&b))
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(doc.Suites) != 2 || doc.Failures != 1 || doc.Skipped != 1 || doc.Tests != doc.Suites[0].Tests+doc.Suites[1].Tests {
		t.Errorf("totals tests=%d failures=%d skipped=%d over %d suites\n%s", doc.Tests, doc.Failures, doc.Skipped, len(doc.Suites), b.String())
	}
	if !strings.HasSuffix(b.String(), "</testsuite>\n</testsuites>\n") {
		t.Errorf("ends %q", b.String()[max(0, b.Len()-40):])
	}
}

func TestSARIFRulesAndLevels(t *testing.T) {
	var b bytes.Buffer
	w, err := NewSARIF(&b, []Rule{
		{Info: policy.Info{Name: "pinned-image-tags"}, Level: "deny"},
		{Info: policy.Info{Name: "vendor-approved"}, Level: "warn"},
		{Info: policy.Info{Name: "region"}, Level: "deny"},
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, w)
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID       string `json:"ruleId"`
				Level        string `json:"level"`
				Suppressions []any  `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	var got []string
	for _, r := range doc.Runs[0].Results {
		got = append(got, r.RuleID+" "+r.Level+" "+map[bool]string{true: "suppressed", false: "open"}[len(r.Suppressions) > 0])
	}
	if want := "pinned-image-tags error open, vendor-approved warning open, region error suppressed"; strings.Join(got, ", ") != want {
		t.Errorf("results %s, want %s", strings.Join(got, ", "), want)
	}
}
