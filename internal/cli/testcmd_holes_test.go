package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clockPolicy is a GuardrailPolicy whose Rego reads the clock and the
// runtime: built-ins the engine refuses in every door.
const clockPolicy = `apiVersion: martech.guardrails.dev/v1alpha1
kind: GuardrailPolicy
metadata:
  name: clock
spec:
  targets: [MarketingWorkload]
  rego: |
    package acme.clock

    violation contains "too late" if {
    	time.now_ns() > 0
    }

    violation contains "runtime" if {
    	opa.runtime().env.HOME != ""
    }
`

const clockTest = `package acme.clock_test

import data.acme.clock

test_late if {
	"too late" in clock.violation with input as {}
}
`

// The Rego of a GuardrailPolicy is compiled by the engine in `test` as in
// `check`: the built-ins the restricted capabilities leave out are refused,
// not run.
func TestTestCompilesPoliciesAsCheckDoes(t *testing.T) {
	dir := writeFiles(t, map[string]string{"policy.yaml": clockPolicy, "clock_test.rego": clockTest})
	chk := runCLI(t, nil, "check", "-f", dir+"/policy.yaml")
	if chk.code != ExitBadInput || !strings.Contains(chk.stderr, "time.now_ns (not allowed in GuardrailPolicy)") {
		t.Fatalf("check: %s", chk)
	}
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitBadInput {
		t.Fatalf("test: want exit 2 as check\n%s", r)
	}
	for _, line := range strings.Split(strings.TrimSpace(chk.stderr), "\n") {
		wantIn(t, "stderr", r.stderr, r, line)
	}
	if strings.Contains(r.stdout, "PASS") {
		t.Errorf("a test ran on a policy that does not compile:\n%s", r)
	}
}

// A Rego unit test runs with the capabilities the engine gives policies
// (print aside, which the tester captures): a library module that reads
// the clock does not pass in `test` either.
func TestTestRegoModulesRestricted(t *testing.T) {
	lib := "package acme.lib\n\nlate if time.now_ns() > 0\n"
	tst := "package acme.lib_test\n\nimport data.acme.lib\n\ntest_late if {\n\tprint(\"checking\")\n\tlib.late\n}\n"
	dir := writeFiles(t, map[string]string{"lib.rego": lib, "lib_test.rego": tst})
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "time.now_ns") {
		t.Fatalf("want exit 2 naming time.now_ns\n%s", r)
	}
	// print stays allowed in tests.
	ok := "package acme.ok_test\n\ntest_print if {\n\tprint(\"hello\")\n}\n"
	dir = writeFiles(t, map[string]string{"ok_test.rego": ok})
	if r := runCLI(t, nil, "test", dir); r.code != ExitOK {
		t.Fatalf("%s", r)
	}
}

// secretDir makes base/secret/kubeconfig.yaml, an object whose text
// carries a marker, and returns base.
func secretDir(t *testing.T) (base, marker string) {
	t.Helper()
	marker = "s3cr3t-t0ken-do-not-print"
	base = t.TempDir()
	secret := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubeconfig\n  namespace: default\ndata:\n  token: " + marker + "\n"
	if err := os.MkdirAll(filepath.Join(base, "secret"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret", "kubeconfig.yaml"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return base, marker
}

// leakyTemplate is a ConstraintTemplate whose message is its whole input.
const leakyTemplate = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sleak
spec:
  crd:
    spec:
      names:
        kind: K8sLeak
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sleak

        violation[{"msg": msg}] {
          msg := json.marshal(input.review.object)
        }
`

const leakyConstraint = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sLeak
metadata:
  name: leak
`

// gatorSuiteText is a gator suite with one test and one case.
func gatorSuiteText(template, constraint, object string) string { //nolint:unparam // any constraint path; the cases keep it beside the suite today
	return `kind: Suite
apiVersion: test.gatekeeper.sh/v1alpha1
metadata:
  name: leak
tests:
  - name: leak
    template: ` + template + `
    constraint: ` + constraint + `
    cases:
      - name: read
        object: ` + object + `
        assertions:
          - violations: no
`
}

// Paths in a suite resolve inside the suite's directory: one that leaves
// it (.., an absolute path, a symlink out) is bad input naming the suite
// file and line, and nothing outside is opened.
func TestSuitePathsStayInTheSuiteDirectory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		suite func(base, dir string) map[string]string // suite dir files
		links map[string]string                        // suite dir symlink -> target (base-relative when not absolute)
		line  string                                   // the suite line named, "suite.yaml:N"
	}{
		{
			name: "gator object ..",
			suite: func(_, _ string) map[string]string {
				return map[string]string{"suite.yaml": gatorSuiteText("template.yaml", "constraint.yaml", "../secret/kubeconfig.yaml")}
			},
			line: "suite.yaml:11",
		},
		{
			name: "gator template absolute",
			suite: func(base, _ string) map[string]string {
				return map[string]string{"suite.yaml": gatorSuiteText(filepath.Join(base, "secret", "kubeconfig.yaml"), "constraint.yaml", "object.yaml")}
			},
			line: "suite.yaml:7",
		},
		{
			name: "gator object symlink out",
			suite: func(_, _ string) map[string]string {
				return map[string]string{"suite.yaml": gatorSuiteText("template.yaml", "constraint.yaml", "link.yaml")}
			},
			links: map[string]string{"link.yaml": "secret/kubeconfig.yaml"},
			line:  "suite.yaml:11",
		},
		{
			name: "gator inventory symlinked directory out",
			suite: func(_, _ string) map[string]string {
				s := gatorSuiteText("template.yaml", "constraint.yaml", "object.yaml")
				s = strings.Replace(s, "        assertions:", "        inventory: [linked/kubeconfig.yaml]\n        assertions:", 1)
				return map[string]string{"suite.yaml": s}
			},
			links: map[string]string{"linked": "secret"},
			line:  "suite.yaml:12",
		},
		{
			name: "fixture inputs absolute",
			suite: func(base, _ string) map[string]string {
				return map[string]string{"guardrails-test.yaml": "name: leak\ninputs:\n  - ok/\n  - " + filepath.Join(base, "secret") + "\ncases:\n  - object: ConfigMap/default/kubeconfig\n"}
			},
			line: "guardrails-test.yaml:4",
		},
		{
			name: "fixture standard ..",
			suite: func(_, _ string) map[string]string {
				return map[string]string{"guardrails-test.yaml": "name: leak\ninputs: [ok/]\nstandard: ok/../../secret/kubeconfig.yaml\ncases:\n  - object: ConfigMap/default/kubeconfig\n"}
			},
			line: "guardrails-test.yaml:3",
		},
		{
			name: "fixture input directory with a symlink out",
			suite: func(_, _ string) map[string]string {
				return map[string]string{"guardrails-test.yaml": "name: leak\ninputs: [ok/]\ncases:\n  - object: ConfigMap/default/kubeconfig\n"}
			},
			links: map[string]string{"ok/secret.yaml": "secret/kubeconfig.yaml"},
			line:  "guardrails-test.yaml:2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, marker := secretDir(t)
			dir := filepath.Join(base, "suite")
			files := tc.suite(base, dir)
			files["template.yaml"] = leakyTemplate
			files["constraint.yaml"] = leakyConstraint
			files["object.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: o\n  namespace: default\n"
			files["ok/object.yaml"] = files["object.yaml"]
			for name, content := range files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for link, target := range tc.links {
				if !filepath.IsAbs(target) {
					target = filepath.Join(base, target)
				}
				if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
					t.Fatal(err)
				}
			}
			r := runCLI(t, nil, "test", dir)
			if r.code != ExitBadInput {
				t.Errorf("want exit 2\n%s", r)
			}
			if strings.Contains(r.stdout+r.stderr, marker) {
				t.Errorf("the secret outside the suite directory was printed\n%s", r)
			}
			wantIn(t, "stderr", r.stderr, r, filepath.Join(dir, tc.line)+": ", "outside the suite's directory")
		})
	}
}

// Inside the directory, .. and symbolic links are followed as before.
func TestSuitePathsInsideAreRead(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"suite.yaml":           gatorSuiteText("sub/../template.yaml", "constraint.yaml", "linked/object.yaml"),
		"template.yaml":        strings.Replace(leakyTemplate, "json.marshal(input.review.object)", `"seen"`, 1),
		"constraint.yaml":      leakyConstraint,
		"sub/keep.txt":         "",
		".objects/object.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: o\n  namespace: default\n",
	})
	if err := os.Symlink(".objects", filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	wantIn(t, "stdout", r.stdout, r, "FAIL  gator leak: leak/read", `got messages ["seen"]`)
}
