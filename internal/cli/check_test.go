package cli

import (
	"encoding/json"
	"encoding/xml"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// checkArgs checks a fixture directory in the world of the catalogue (or,
// for clean/, on its own).
func checkArgs(dir string, extra ...string) []string {
	args := []string{"check", "-f", fixtures + "/" + dir, "--now", testNow}
	if dir != "clean" {
		args = append(args, "--standard", catalogue+"/standard.yaml", "--vendors", catalogue)
	}
	return append(args, extra...)
}

func TestCheckFixtures(t *testing.T) {
	tests := []struct {
		dir  string
		code int
		// want are substrings of stdout (exit 0 and 1) or stderr (exit 2).
		want []string
	}{
		{"clean", ExitOK, []string{"14 objects: 0 deny, 0 warn, 0 audit, 14 passed (2 waived by exceptions)"}},
		{"bad-registry", ExitDenied, []string{
			fixtures + "/bad-registry/workload.yaml:2: MarketingWorkload growth-marketing/spring-promo",
			"DENY   allowed-registries (high) spec.image:",
			"1 object: 1 deny, 0 warn, 0 audit, 0 passed",
		}},
		{"bad-vendor", ExitDenied, []string{"DENY   vendor-approved (critical) spec.vendor: vendor \"trackmax\" (TrackMax Fingerprinting) is prohibited"}},
		{"bad-residency", ExitDenied, []string{"DENY   data-residency (high) spec.region: region \"us\""}},
		{"bad-host", ExitDenied, []string{"DENY   exposure-host (high) spec.exposure.host:"}},
		{"bad-custom", ExitDenied, []string{"DENY   pinned-image-tags (medium) spec.image: image tag \"latest\" is not pinned", "2 objects: 1 deny"}},
		{"malformed-yaml", ExitBadInput, []string{fixtures + "/malformed-yaml/broken.yaml:12: invalid YAML: line 19:"}},
		{"malformed-kind", ExitBadInput, []string{fixtures + "/malformed-kind/unknown-kind.yaml:2: unknown kind \"MarketingCampaign\" in martech.guardrails.dev"}},
		{"malformed-schema", ExitBadInput, []string{fixtures + "/malformed-schema/workload.yaml:2: MarketingWorkload growth-marketing/negative: spec.replicas: Invalid value: -1"}},
		{"malformed-cel", ExitBadInput, []string{fixtures + "/malformed-cel/workload.yaml:10: MarketingWorkload growth-marketing/time-travel: spec.campaign.endsAt: Invalid value: campaign.endsAt must be after campaign.startsAt"}},
		{"malformed-rego", ExitBadInput, []string{
			fixtures + "/malformed-rego/policy.yaml:2: GuardrailPolicy broken-rego does not compile: spec.rego:5:3 (" + fixtures + "/malformed-rego/policy.yaml:14:7): unexpected identifier token",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			r := runCLI(t, nil, checkArgs(tt.dir)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r)
			}
			out := r.stdout
			if tt.code == ExitBadInput {
				out = r.stderr
				if r.stdout != "" {
					t.Errorf("bad input printed a report:\n%s", r.stdout)
				}
				for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
					if !strings.HasPrefix(l, fixtures+"/") {
						t.Errorf("error line without file:line: %q", l)
					}
				}
			}
			wantIn(t, "output", out, r, tt.want...)
		})
	}
}

func TestCheckSamplesText(t *testing.T) {
	r := runCLI(t, nil, "check", "-f", samples, "--now", testNow)
	if r.code != ExitOK {
		t.Fatalf("samples: %s", r)
	}
	golden(t, "check/samples.txt", r.stdout)
}

func TestCheckStdinAndMultiDocumentLines(t *testing.T) {
	manifest := `# leading comment
apiVersion: v1
kind: Namespace
metadata:
  name: growth-marketing
---

---
# an exception to nothing, expiring too late
apiVersion: martech.guardrails.dev/v1alpha1
kind: PolicyException
metadata:
  name: forever
  namespace: growth-marketing
spec:
  policies: [ownership]
  targets: [{kind: MarketingWorkload, name: nothing}]
  reason: testing
  approvedBy: it@acme.example
  expiresAt: "2030-01-01T00:00:00Z"
`
	r := runCLI(t, strings.NewReader(manifest), "check", "-f", "-", "--standard", catalogue+"/standard.yaml", "--now", testNow)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	if !strings.Contains(r.stdout, "stdin:10: PolicyException growth-marketing/forever") || !strings.Contains(r.stdout, "exception-cap") {
		t.Errorf("want the exception at stdin:10 denied by exception-cap:\n%s", r)
	}
}

func TestCheckUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"check"},
		{"check", "-o", "xml", "-f", samples},
		{"check", "--now", "yesterday", "-f", samples},
		{"check", "-f", "/does/not/exist"},
		{"frobnicate"},
	} {
		r := runCLI(t, nil, args...)
		if r.code != ExitBadInput || r.stderr == "" {
			t.Errorf("%v: %s; want exit 2 with a message", args, r)
		}
	}
}

func TestCheckDuplicateObjects(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v}\nspec: {displayName: V, category: crm, status: approved}\n",
		"b.yaml": "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v}\nspec: {displayName: V2, category: crm, status: approved}\n",
	})
	r := runCLI(t, nil, "check", "-f", dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "b.yaml:1: Vendor v is given twice (also at "+dir+"/a.yaml:1)") {
		t.Errorf("%s", r)
	}
	// The same file named twice is read once.
	r = runCLI(t, nil, "check", "-f", dir+"/a.yaml", "-f", dir+"/a.yaml", "--vendors", dir+"/a.yaml")
	if r.code != ExitOK {
		t.Errorf("%s", r)
	}
}

func TestCheckUnknownFieldsAndVersions(t *testing.T) {
	dir := writeFiles(t, map[string]string{"x.yaml": `apiVersion: martech.guardrails.dev/v1beta1
kind: Vendor
metadata: {name: v}
---
apiVersion: martech.guardrails.dev/v1alpha1
kind: Vendor
metadata: {name: w}
spec: {displayName: W, category: crm, status: approved, colour: blue}
---
kind: Vendor
---
apiVersion: v1
kind: List
items:
- apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  metadata: {name: listed}
  spec: {displayName: L, category: crm, status: maybe}
`})
	r := runCLI(t, nil, "check", "-f", dir)
	wantIn(t, "stderr", r.stderr, r,
		"x.yaml:1: Vendor: unknown version \"v1beta1\"",
		"x.yaml:5: Vendor w: spec.colour: unknown field",
		"x.yaml:10: Vendor: apiVersion is missing",
		"x.yaml:15: Vendor listed: spec.status: Unsupported value: \"maybe\"",
	)
}

func TestCheckJSON(t *testing.T) {
	r := runCLI(t, nil, append(checkArgs("bad-vendor"), "-o", "json")...)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if got := slices.Sorted(maps.Keys(doc)); !slices.Equal(got, []string{"results", "summary"}) {
		t.Errorf("top-level keys %v", got)
	}
	var results []map[string]any
	if err := json.Unmarshal(doc["results"], &results); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"apiVersion", "enforcement", "exception", "field", "file", "kind", "line", "message", "name", "namespace", "policy", "remediation", "severity"}
	var policies []string
	for _, res := range results {
		if got := slices.Sorted(maps.Keys(res)); !slices.Equal(got, wantKeys) {
			t.Errorf("result keys %v, want %v", got, wantKeys)
		}
		name, _ := res["policy"].(string)
		policies = append(policies, name)
		if res["file"] != fixtures+"/bad-vendor/integration.yaml" || res["line"] != float64(2) || res["kind"] != "SaaSIntegration" {
			t.Errorf("result %v", res)
		}
	}
	if !slices.Contains(policies, "vendor-approved") {
		t.Errorf("policies %v lack vendor-approved", policies)
	}
	var summary map[string]int
	if err := json.Unmarshal(doc["summary"], &summary); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]int{"objects": 1, "deny": 1, "warn": 0, "audit": 0, "passed": 0} {
		if summary[k] != v {
			t.Errorf("summary.%s = %d, want %d (%v)", k, summary[k], v, summary)
		}
	}

	// Waived results carry their exception; the samples pass.
	r = runCLI(t, nil, "check", "-f", samples, "--now", testNow, "-o", "json")
	var clean report.JSONReport
	if err := json.Unmarshal([]byte(r.stdout), &clean); err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	// The portfolio samples leave one audit (an unused contract) and one
	// warning (an overlapping CMS); neither fails the run.
	var unwaived []string
	for _, res := range clean.Results {
		if res.Exception == "" {
			unwaived = append(unwaived, res.Enforcement+" "+res.Policy+" "+res.Kind+"/"+res.Name)
		} else if res.Exception != "growth-marketing/retargeting-pilot-q4" {
			t.Errorf("result waived by an unexpected exception: %+v", res)
		}
	}
	if want := []string{"audit vendor-unused Vendor/optimizely", "warn vendor-overlap SaaSIntegration/press-room"}; !slices.Equal(unwaived, want) {
		t.Errorf("unwaived results on the samples %q, want %q", unwaived, want)
	}
	if s := clean.Summary; s.Objects != 20 || s.Passed != 18 || s.Warn != 1 || s.Audit != 1 || s.Deny != 0 || s.Waived != 2 {
		t.Errorf("summary %+v", clean.Summary)
	}
}

func TestCheckJUnit(t *testing.T) {
	r := runCLI(t, nil, "check", "-f", fixtures+"/bad-custom", "-f", fixtures+"/bad-registry", "--standard", catalogue+"/standard.yaml", "--vendors", catalogue, "--now", testNow, "-o", "junit")
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	var doc report.JUnitSuites
	if err := xml.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, r.stdout)
	}
	// Objects: the GuardrailPolicy, two workloads.
	if len(doc.Suites) != 3 {
		t.Fatalf("%d testsuites, want 3\n%s", len(doc.Suites), r.stdout)
	}
	// Every MarketingWorkload suite has one testcase per policy targeting
	// MarketingWorkload: 6 built-ins in Rego, taxonomy-keys and
	// pinned-image-tags.
	failures := map[string][]string{}
	for _, s := range doc.Suites {
		if !strings.HasPrefix(s.Name, "MarketingWorkload/") {
			continue
		}
		if len(s.Cases) != 8 || s.Tests != 8 {
			t.Errorf("%s: %d testcases, want 8", s.Name, len(s.Cases))
		}
		for _, c := range s.Cases {
			if c.Failure != nil {
				failures[s.Name] = append(failures[s.Name], c.Name)
				if c.Failure.Message == "" || c.Failure.Type != "deny" {
					t.Errorf("failure %+v", c.Failure)
				}
			}
		}
	}
	want := map[string][]string{
		"MarketingWorkload/growth-marketing/spring-promo": {"allowed-registries"},
		"MarketingWorkload/growth-marketing/tag-server":   {"pinned-image-tags"},
	}
	if !reflect.DeepEqual(failures, want) {
		t.Errorf("failures %v, want %v", failures, want)
	}
	if doc.Failures != 2 || doc.Tests != 16 {
		t.Errorf("testsuites tests=%d failures=%d", doc.Tests, doc.Failures)
	}

	// Warnings and waivers leave a passing testcase with a note.
	r = runCLI(t, nil, "check", "-f", samples, "--now", testNow, "-o", "junit")
	var clean report.JUnitSuites
	if err := xml.Unmarshal([]byte(r.stdout), &clean); err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	var notes []string
	for _, s := range clean.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil || c.Error != nil {
				t.Errorf("%s/%s fails on the samples", s.Name, c.Name)
			}
			if c.SystemOut != "" {
				notes = append(notes, c.Name)
			}
		}
	}
	if !slices.Equal(notes, []string{"vendor-unused", "data-residency", "vendor-approved", "vendor-overlap"}) {
		t.Errorf("notes on %v, want the audit, the two waived policies and the warning", notes)
	}
}

func TestCheckSARIF(t *testing.T) {
	r := runCLI(t, nil, "check", "-f", samples, "-f", fixtures+"/bad-residency", "--now", testNow, "-o", "sarif")
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string            `json:"id"`
						ShortDescription     map[string]string `json:"shortDescription"`
						FullDescription      map[string]string `json:"fullDescription"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string            `json:"ruleId"`
				RuleIndex int               `json:"ruleIndex"`
				Level     string            `json:"level"`
				Message   map[string]string `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Suppressions []json.RawMessage `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	eng, err := policy.New(policy.Options{Timeout: OfflinePolicyTimeout})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range eng.Policies() {
		want = append(want, p.Name)
	}
	want = append(want, "pinned-image-tags", "no-literal-secrets") // the samples' GuardrailPolicy and Gatekeeper constraint
	slices.Sort(want)
	var ids []string
	levels := map[string]string{}
	for _, rule := range run.Tool.Driver.Rules {
		ids = append(ids, rule.ID)
		levels[rule.ID] = rule.DefaultConfiguration.Level
		if rule.ShortDescription["text"] == "" || rule.FullDescription["text"] == "" {
			t.Errorf("rule %s has no descriptions", rule.ID)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Errorf("rules %v, want exactly one per policy in force %v", ids, want)
	}
	if levels["credential-age"] != "warning" || levels["allowed-registries"] != "error" {
		t.Errorf("rule levels %v", levels)
	}
	var found bool
	var overlap int
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s has ruleIndex %d", res.RuleID, res.RuleIndex)
		}
		loc := res.Locations[0].PhysicalLocation
		if res.RuleID == "data-residency" && len(res.Suppressions) == 0 {
			found = true
			if res.Level != "error" || loc.ArtifactLocation.URI != "../../test/cli-fixtures/bad-residency/integration.yaml" || loc.Region.StartLine != 2 || res.Message["text"] == "" {
				t.Errorf("data-residency result: %+v", res)
			}
		}
		if res.Level == "warning" && len(res.Suppressions) == 0 {
			// The one unsuppressed warning on the samples: press-room's
			// CMS overlaps contentful.
			if res.RuleID != "vendor-overlap" || !strings.HasSuffix(loc.ArtifactLocation.URI, "config/samples/06_saasintegrations.yaml") || !strings.Contains(res.Message["text"], "contentful (cms)") {
				t.Errorf("unexpected warning %+v", res)
			}
			overlap++
		}
	}
	if overlap != 1 {
		t.Errorf("%d unsuppressed vendor-overlap warnings, want 1", overlap)
	}
	if !found {
		t.Errorf("no unsuppressed data-residency result:\n%s", r.stdout)
	}
}

func TestSecretsUnknownOfflineUnlessGiven(t *testing.T) {
	// Without the Secrets, credential-age cannot tell: no result.
	si := `apiVersion: martech.guardrails.dev/v1alpha1
kind: SaaSIntegration
metadata: {name: crm, namespace: growth-marketing}
spec:
  vendor: hubspot
  dataUse: sales
  dataCategories: [user.contact.email]
  region: eu
  credentials: {secretName: crm-credentials, keys: [API_KEY]}
`
	old := `apiVersion: v1
kind: Secret
metadata:
  name: crm-credentials
  namespace: growth-marketing
  creationTimestamp: "2025-01-01T00:00:00Z"
`
	dir := writeFiles(t, map[string]string{"si.yaml": si, "secret/old.yaml": old})
	base := []string{"check", "--standard", catalogue + "/standard.yaml", "--vendors", catalogue + "/vendors.yaml", "--now", testNow}
	r := runCLI(t, nil, append(base, "-f", dir+"/si.yaml")...)
	if r.code != ExitOK || strings.Contains(r.stdout, "credential-age") {
		t.Errorf("unknown secret: %s", r)
	}
	r = runCLI(t, nil, append(base, "-f", dir)...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "WARN   credential-age (medium) spec.credentials.secretName: credentials in Secret \"crm-credentials\" are 699 days old") {
		t.Errorf("old secret: %s", r)
	}
	if strings.Contains(r.stdout, "replace-me") {
		t.Error("secret data leaked")
	}
}

func TestMain(m *testing.M) {
	// Relative fixture paths assume the package directory.
	if _, err := os.Stat(fixtures); err != nil {
		panic("run the tests from internal/cli: " + err.Error())
	}
	os.Exit(m.Run())
}
