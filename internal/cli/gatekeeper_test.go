package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/internal/manifest"
)

const (
	gatorSuites = "../../test/gatekeeper-suites"
	gkFixtures  = fixtures + "/gatekeeper"
)

// checkGatekeeper checks files in the world of the catalogue.
func checkGatekeeper(t *testing.T, files []string, extra ...string) result {
	t.Helper()
	args := []string{"check", "--now", testNow, "--standard", catalogue + "/standard.yaml", "--vendors", catalogue}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return runCLI(t, nil, append(args, extra...)...)
}

// wantExit returns r, ending t when r did not exit with code.
func wantExit(t *testing.T, code int, r result) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s", r.code, code, r)
	}
	return r
}

func TestGatorSuites(t *testing.T) {
	r := wantExit(t, ExitOK, runCLI(t, nil, "test", gatorSuites))
	wantIn(t, "stdout", r.stdout, r,
		// Rego v0, parameters, match.kinds, an AdmissionReview.
		"PASS  gator required-labels: deployments-need-owner/labelled\n",
		"PASS  gator required-labels: deployments-need-owner/unlabelled\n",
		"PASS  gator required-labels: deployments-need-owner/admission-review-update\n",
		"PASS  gator required-labels: deployments-need-owner/not-a-deployment\n",
		// namespaceSelector against the inventory's Namespace.
		"PASS  gator required-labels: strict-namespaces/strict-namespace\n",
		"PASS  gator required-labels: strict-namespaces/lax-namespace\n",
		"SKIP  gator required-labels: strict-namespaces/skipped-case\n",
		"PASS  gator required-labels: parameters-not-a-list (invalid constraint refused)\n",
		// Rego v1, excludedNamespaces, counted and filtered assertions.
		"PASS  gator disallowed-tags: no-latest/pinned\n",
		"PASS  gator disallowed-tags: no-latest/latest-dev-and-untagged\n",
		"PASS  gator disallowed-tags: no-latest/excluded-namespace\n",
		// libs as data.lib.*.
		"PASS  gator allowed-repos: company-registry/pod-from-the-registry\n",
		"PASS  gator allowed-repos: company-registry/deployment-with-foreign-images\n",
		// data.inventory.
		"PASS  gator unique-ingress-host: one-ingress-per-host/host-taken-elsewhere\n",
		"PASS  gator unique-ingress-host: one-ingress-per-host/new-host\n",
		"PASS  gator unique-ingress-host: one-ingress-per-host/the-same-ingress-again\n",
		"PASS  gator unique-ingress-host: one-ingress-per-host/empty-inventory\n",
		// CEL only: skipped with the engine's reason, neither passed nor failed.
		"SKIP  gator cel-only: at-most-ten\n      ConstraintTemplate guardrailsreplicalimit skipped: ",
		"16 passed, 0 failed, 2 skipped\n",
	)
	if strings.Contains(r.stdout, "FAIL") {
		t.Errorf("a test failed:\n%s", r)
	}
}

func TestGatorSuitesNextToFixtureSuites(t *testing.T) {
	// One run: the built-ins' fixture suites and a gator suite.
	r := wantExit(t, ExitOK, runCLI(t, nil, "test", builtins+"/fixtures", gatorSuites+"/allowed-repos"))
	wantIn(t, "stdout", r.stdout, r, "PASS  fixture ", "PASS  gator allowed-repos: company-registry/deployment-with-foreign-images\n")
}

func TestGatorSuiteRun(t *testing.T) {
	r := wantExit(t, ExitOK, runCLI(t, nil, "test", "--run", "unique-ingress-host/one-ingress-per-host/new-host", gatorSuites))
	if want := "PASS  gator unique-ingress-host: one-ingress-per-host/new-host\n1 passed, 0 failed\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

// gatorSuite writes a suite using the templates of test/gatekeeper-suites
// (copied beside it, as SUITES: a suite's paths stay in its directory)
// into a temporary directory and returns its path.
func writeGatorSuite(t *testing.T, tests string) string {
	t.Helper()
	suite := "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: mine\ntests:\n" +
		strings.ReplaceAll(tests, "SUITES", "suites")
	dir := writeFiles(t, map[string]string{"suite.yaml": suite})
	if err := os.CopyFS(filepath.Join(dir, "suites"), os.DirFS(gatorSuites)); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "suite.yaml")
}

func TestGatorSuiteFailures(t *testing.T) {
	file := writeGatorSuite(t, `
  - name: wrong
    template: SUITES/required-labels/template.yaml
    constraint: SUITES/required-labels/constraint.yaml
    cases:
      - name: expects-none
        object: SUITES/required-labels/deployment-unlabelled.yaml
        assertions:
          - violations: no
      - name: no-assertions-means-no-violation
        object: SUITES/required-labels/deployment-unlabelled.yaml
      - name: message-does-not-match
        object: SUITES/required-labels/deployment-unlabelled.yaml
        assertions:
          - message: "^nothing like it$"
      - name: missing-object
        object: nowhere.yaml
        assertions:
          - violations: no
  - name: valid-but-said-invalid
    template: SUITES/required-labels/template.yaml
    constraint: SUITES/required-labels/constraint.yaml
    invalid: true
  - name: not-a-constraint
    template: SUITES/required-labels/template.yaml
    constraint: SUITES/required-labels/deployment-labelled.yaml
    cases:
      - name: any
        object: SUITES/required-labels/deployment-labelled.yaml
`)
	r := wantExit(t, ExitDenied, runCLI(t, nil, "test", file))
	wantIn(t, "stdout", r.stdout, r,
		"FAIL  gator mine: wrong/expects-none\n",
		"got 1 violations but want none",
		"FAIL  gator mine: wrong/no-assertions-means-no-violation\n",
		"FAIL  gator mine: wrong/message-does-not-match\n",
		`got 0 violations matching "^nothing like it$" but want at least 1`,
		"FAIL  gator mine: wrong/missing-object\n",
		"nowhere.yaml",
		"FAIL  gator mine: valid-but-said-invalid\n      invalid: true, but the constraint was accepted",
		"FAIL  gator mine: not-a-constraint\n",
		"is not a constraint (constraints.gatekeeper.sh)",
		"0 passed, 6 failed\n",
	)
}

func TestGatorSuiteBadInput(t *testing.T) {
	for name, tc := range map[string]struct{ tests, want string }{
		"violations": {`
  - name: t
    template: a.yaml
    constraint: b.yaml
    cases:
      - name: c
        object: o.yaml
        assertions:
          - violations: maybe
`, `invalid gator suite: tests[0].cases[0].assertions[0]: violations must be a nonnegative integer, "yes" or "no", not maybe`},
		"regex": {`
  - name: t
    template: a.yaml
    constraint: b.yaml
    cases:
      - name: c
        object: o.yaml
        assertions:
          - message: "("
`, "invalid gator suite: tests[0].cases[0].assertions[0]: message: error parsing regexp"},
		"no constraint": {`
  - name: t
    template: a.yaml
`, "invalid gator suite: tests[0] (t): constraint is missing"},
	} {
		t.Run(name, func(t *testing.T) {
			file := writeGatorSuite(t, tc.tests)
			r := wantExit(t, ExitBadInput, runCLI(t, nil, "test", file))
			wantIn(t, "stderr", r.stderr, r, file+": "+tc.want)
		})
	}
}

func TestCheckGatekeeperDeny(t *testing.T) {
	r := wantExit(t, ExitDenied, checkGatekeeper(t, []string{gatorSuites + "/required-labels/template.yaml", gkFixtures + "/constraint-deny.yaml", gkFixtures + "/workload.yaml", gkFixtures + "/workload-campaign.yaml"}))
	wantIn(t, "stdout", r.stdout, r,
		gkFixtures+"/workload.yaml:5: MarketingWorkload growth-marketing/evergreen-site",
		"DENY   deployments-need-campaign (Deployment/evergreen-site)",
		`Deployment evergreen-site lacks the labels ["martech.guardrails.dev/campaign"]`,
		"2 objects: 1 deny, 0 warn, 0 audit, 1 passed",
	)
	if strings.Contains(r.stdout, "summer-promo") {
		t.Errorf("the workload with a campaign has a result:\n%s", r)
	}
}

func TestCheckGatekeeperWarn(t *testing.T) {
	r := wantExit(t, ExitOK, checkGatekeeper(t, []string{gatorSuites + "/required-labels/template.yaml", gkFixtures + "/constraint-warn.yaml", gkFixtures + "/workload.yaml"}))
	wantIn(t, "stdout", r.stdout, r,
		"WARN   deployments-should-have-campaign (Deployment/evergreen-site)",
		"1 object: 0 deny, 1 warn, 0 audit, 0 passed",
	)
}

func TestCheckGatekeeperInventory(t *testing.T) {
	files := []string{gatorSuites + "/unique-ingress-host/template.yaml", gatorSuites + "/unique-ingress-host/constraint.yaml", gkFixtures + "/exposed-workload.yaml"}
	// Alone, the workload's Ingress is the only one with its host.
	if r := checkGatekeeper(t, files); r.code != ExitOK {
		t.Fatalf("without the other Ingress: exit %d, want 0\n%s", r.code, r)
	}
	// The Ingress among the inputs is data.inventory.
	r := wantExit(t, ExitDenied, checkGatekeeper(t, append(files, gkFixtures+"/ingress.yaml")))
	wantIn(t, "stdout", r.stdout, r, "DENY   one-ingress-per-host (Ingress/", "host launch.acme.example is already served by Ingress web/launch")
}

func TestCheckGatekeeperBadTemplate(t *testing.T) {
	r := wantExit(t, ExitBadInput, checkGatekeeper(t, []string{gkFixtures + "/template-broken.yaml", gkFixtures + "/workload.yaml"}))
	if r.stdout != "" {
		t.Errorf("bad input printed a report:\n%s", r.stdout)
	}
	wantIn(t, "stderr", r.stderr, r, gkFixtures+"/template-broken.yaml:1: ConstraintTemplate guardrailsbroken does not compile: ")
}

func TestCheckGatekeeperSkipped(t *testing.T) {
	files := []string{gatorSuites + "/cel-only/template.yaml", gatorSuites + "/cel-only/constraint.yaml", gkFixtures + "/workload-campaign.yaml"}
	const line = gatorSuites + "/cel-only/template.yaml:3: ConstraintTemplate guardrailsreplicalimit skipped: "
	r := wantExit(t, ExitOK, checkGatekeeper(t, files))
	wantIn(t, "stderr", r.stderr, r, "guardrails check: "+line)

	r = checkGatekeeper(t, files, "-o", "json")
	var rep struct {
		Skipped []struct {
			Template, File, Reason string
			Line                   int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Template != "guardrailsreplicalimit" || rep.Skipped[0].Line != 3 || rep.Skipped[0].Reason == "" {
		t.Errorf("json skipped: %+v\n%s", rep.Skipped, r)
	}

	r = checkGatekeeper(t, files, "-o", "sarif")
	var sarif struct {
		Runs []struct {
			Invocations []struct {
				ToolConfigurationNotifications []struct {
					Descriptor struct{ ID string }
					Level      string
					Message    struct{ Text string }
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sarif); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(sarif.Runs) != 1 || len(sarif.Runs[0].Invocations) != 1 || len(sarif.Runs[0].Invocations[0].ToolConfigurationNotifications) != 1 {
		t.Fatalf("sarif: no notification of the skipped template\n%s", r)
	}
	n := sarif.Runs[0].Invocations[0].ToolConfigurationNotifications[0]
	if n.Descriptor.ID != "ConstraintTemplate/guardrailsreplicalimit" || n.Level != "note" || !strings.Contains(n.Message.Text, "skipped") {
		t.Errorf("sarif notification %+v", n)
	}
}

func TestCheckGatekeeperObjectsAreNotUnknownKinds(t *testing.T) {
	// A template and constraint with no MarketingWorkload: nothing to
	// judge (--allow-empty), and nothing rejected as an unknown kind.
	r := wantExit(t, ExitOK, checkGatekeeper(t, []string{gatorSuites + "/required-labels/template.yaml", gkFixtures + "/constraint-deny.yaml"}, "--allow-empty"))
	if r.stderr != "" {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestCheckGatekeeperDocsExample(t *testing.T) {
	// The command in docs/examples/literal-secret-workload.yaml.
	r := wantExit(t, ExitDenied, runCLI(t, nil, "check", "--now", testNow, "--vendors", samples+"/02_vendors.yaml",
		"--standard", samples+"/01_platformstandard.yaml", "--policies", samples+"/gatekeeper/",
		"-f", "../../docs/examples/literal-secret-workload.yaml"))
	wantIn(t, "stdout", r.stdout, r, "DENY   no-literal-secrets (Deployment/spring-teaser)", "sets ANALYTICS_API_KEY as a literal value")
}

func TestCheckGatekeeperReports(t *testing.T) {
	files := []string{gatorSuites + "/required-labels/template.yaml", gkFixtures + "/constraint-deny.yaml", gkFixtures + "/workload.yaml"}
	// SARIF: the child's result is one of the constraint's rule.
	r := checkGatekeeper(t, files, "-o", "sarif")
	var sarif struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Message   struct{ Text string }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &sarif); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	run := sarif.Runs[0]
	var found bool
	for _, res := range run.Results {
		if res.RuleID == "deployments-need-campaign" {
			found = true
			if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
				t.Errorf("ruleIndex %d is rule %s", res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
			}
			if want := "MarketingWorkload growth-marketing/evergreen-site (Deployment/evergreen-site): Deployment evergreen-site lacks"; !strings.HasPrefix(res.Message.Text, want) {
				t.Errorf("message %q, want it to start with %q", res.Message.Text, want)
			}
		}
	}
	if !found {
		t.Errorf("no SARIF result of deployments-need-campaign\n%s", r)
	}
	// JUnit: the child's testcase fails, and no passing one of the same
	// constraint contradicts it.
	r = checkGatekeeper(t, files, "-o", "junit")
	wantIn(t, "stdout", r.stdout, r, `<testcase name="deployments-need-campaign (Deployment/evergreen-site)"`, `<failure message="Deployment evergreen-site lacks`)
	if strings.Contains(r.stdout, `<testcase name="deployments-need-campaign" `) {
		t.Errorf("a passing testcase of the failing constraint:\n%s", r.stdout)
	}
}

func TestCheckGatekeeperLibErrorPosition(t *testing.T) {
	dir := writeFiles(t, map[string]string{"template.yaml": `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: brokenlib
spec:
  crd:
    spec:
      names:
        kind: BrokenLib
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source: {validations: []}
        - engine: Rego
          source:
            version: "v1"
            rego: |
              package brokenlib
              import data.lib.util
              violation contains {"msg": "x"} if util.bad
            libs:
              - |
                package lib.util
                bad if {
                  input.review.object.kind ==
                }
`})
	file := filepath.Join(dir, "template.yaml")
	r := wantExit(t, ExitBadInput, runCLI(t, nil, "check", "-f", file))
	wantIn(t, "stderr", r.stderr, r, file+":1: ConstraintTemplate brokenlib does not compile: spec.targets[0].code[1].source.libs[0]:4:1 ("+file+":27:17): ")
}

func TestGatorSuiteUnnamed(t *testing.T) {
	// Names are optional in gator: lines use the index.
	file := writeGatorSuite(t, `
  - template: SUITES/required-labels/template.yaml
    constraint: SUITES/required-labels/constraint.yaml
    cases:
      - object: SUITES/required-labels/deployment-labelled.yaml
        assertions: [{violations: no}]
`)
	r := wantExit(t, ExitOK, runCLI(t, nil, "test", file))
	wantIn(t, "stdout", r.stdout, r, "PASS  gator mine: tests[0]/cases[0]\n1 passed, 0 failed\n")
}

func TestInventoryKeptOnlyWhenRead(t *testing.T) {
	for template, want := range map[string]bool{"unique-ingress-host": true, "required-labels": false} {
		in := inputFlags{namespace: "default", files: []string{
			gatorSuites + "/" + template + "/template.yaml", gatorSuites + "/" + template + "/constraint.yaml",
			gkFixtures + "/ingress.yaml", gkFixtures + "/exposed-workload.yaml",
		}}
		w, _, _, errs := loadChecked(context.Background(), &env{fsys: manifest.OSFS{}}, &in)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if got := len(w.Inventory()) > 0; got != want {
			t.Errorf("%s: inventory kept %v, want %v", template, got, want)
		}
	}
}
