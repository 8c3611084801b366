package cli

import (
	"strings"
	"testing"
)

// Dates outside the supported range (internal/policy/timebounds.go) are
// refused when read, naming the file, line and field (the CRDs' CEL rules,
// which the CLI applies), and never judged as a pass.
func TestCheckRefusesDatesOutsideTheSupportedRange(t *testing.T) {
	const rangeMsg = "must be within the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z"
	for _, tc := range []struct {
		name, doc, field string
	}{
		{"exception expiring 9999-12-31", `apiVersion: martech.guardrails.dev/v1alpha1
kind: PolicyException
metadata: {name: forever, namespace: growth-marketing}
spec:
  policies: [ownership]
  targets: [{kind: MarketingWorkload, name: nothing}]
  reason: testing
  approvedBy: it@acme.example
  expiresAt: "9999-12-31T23:59:59Z"
`, "spec.expiresAt"},
		{"exception expiring at Rego's first overflowing second", `apiVersion: martech.guardrails.dev/v1alpha1
kind: PolicyException
metadata: {name: forever, namespace: growth-marketing}
spec:
  policies: [ownership]
  targets: [{kind: MarketingWorkload, name: nothing}]
  reason: testing
  approvedBy: it@acme.example
  expiresAt: "2262-04-11T23:47:17Z"
`, "spec.expiresAt"},
		{"campaign ending in 2263", `apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata: {name: long, namespace: growth-marketing}
spec:
  owner: {team: growth, contact: growth@acme.example}
  costCenter: MKT-1
  campaign: {name: long, startsAt: "2026-11-01T00:00:00Z", endsAt: "2263-01-01T00:00:00Z"}
  image: registry.acme.example/growth/long:1.0.0
`, "spec.campaign.endsAt"},
		{"DPA that expired in 1600", `apiVersion: martech.guardrails.dev/v1alpha1
kind: Vendor
metadata: {name: oldco}
spec:
  displayName: Old Co
  category: crm
  status: approved
  dpa: {signed: true, expires: "1600-01-01T00:00:00Z"}
`, "spec.dpa.expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, strings.NewReader(tc.doc), "check", "-f", "-", "--now", testNow)
			if r.code != ExitBadInput {
				t.Fatalf("exit %d, want %d (bad input)\n%s", r.code, ExitBadInput, r)
			}
			wantIn(t, "stderr", r.stderr, r, "stdin:1:", tc.field, rangeMsg)
		})
	}
}

func TestNowOutsideTheSupportedRange(t *testing.T) {
	for _, now := range []string{"9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"} {
		r := runCLI(t, nil, "check", "-f", samples, "--now", now)
		if r.code != ExitBadInput {
			t.Fatalf("--now %s: exit %d, want %d\n%s", now, r.code, ExitBadInput, r)
		}
		wantIn(t, "stderr", r.stderr, r, "flag -now", "outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z")
	}
}

// A fixture suite's now outside the range is refused, not replaced by the
// wall clock.
func TestSuiteNowOutsideTheSupportedRange(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"guardrails-test.yaml": `name: far future
now: "9999-12-31T23:59:59Z"
inputs: [vendor.yaml]
cases:
  - object: Vendor/v
    expect: {}
`,
		"vendor.yaml": "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v}\nspec: {displayName: V, category: crm, status: approved}\n",
	})
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitBadInput {
		t.Fatalf("exit %d, want %d\n%s", r.code, ExitBadInput, r)
	}
	wantIn(t, "stderr", r.stderr, r, "guardrails-test.yaml", "now", "outside the supported range 1678-01-01T00:00:00Z..2261-12-31T23:59:59Z")
}
