package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// controlChars reports the raw control characters (C0 but newline, DEL,
// C1) and bidi overrides in s.
func controlChars(s string) []rune {
	var out []rune
	for _, r := range s {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			out = append(out, r)
		}
	}
	return out
}

// forger is a GuardrailPolicy whose message clears the screen, returns to
// the start of the line and forges a second result line.
const forger = `apiVersion: martech.guardrails.dev/v1alpha1
kind: GuardrailPolicy
metadata:
  name: forger
spec:
  targets: [MarketingWorkload]
  enforcement: warn
  rego: |
    package acme.forger

    violation contains "ok\u001b[2J\r  PASS   all clear\n  DENY   forged (high) \u0000 \u009b \u202e" if true
`

// Text output quotes control characters: a file name or a policy message
// cannot clear the screen, move the cursor or forge a line.
func TestTextOutputQuotesControlCharacters(t *testing.T) {
	workload := readFile(t, fixtures+"/bad-registry/workload.yaml")
	dir := t.TempDir()
	evil := "evil\x1b[31m\rDENY\n.yaml"
	for name, content := range map[string]string{evil: workload, "policy.yaml": forger} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, nil, "check", "-f", dir, "--standard", catalogue+"/standard.yaml", "--vendors", catalogue, "--now", testNow)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	if c := controlChars(r.stdout + r.stderr); len(c) > 0 {
		t.Errorf("raw control characters %q in the output\n%s", c, r)
	}
	wantIn(t, "stdout", r.stdout, r,
		`evil\x1b[31m\rDENY\n.yaml:2: MarketingWorkload growth-marketing/spring-promo`,
		`forger (medium) ok\x1b[2J\r  PASS   all clear\n  DENY   forged (high) \x00 \u009b \u202e`,
		"  DENY   allowed-registries",
	)
	if n := strings.Count(r.stdout, "\n  DENY "); n != 1 {
		t.Errorf("%d DENY lines, want 1 (the real one)\n%s", n, r)
	}

	// Error lines on stderr (a newline in a file name there is quoted by
	// the error printer of the command, printErrors).
	bad := filepath.Join(t.TempDir(), "bad\x1b]0;owned\x07.yaml")
	if err := os.WriteFile(bad, []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "check", "-f", bad)
	if r.code != ExitBadInput {
		t.Fatalf("%s", r)
	}
	if c := controlChars(r.stdout + r.stderr); len(c) > 0 {
		t.Errorf("raw control characters %q on stderr\n%s", c, r)
	}
	wantIn(t, "stderr", r.stderr, r, `bad\x1b]0;owned\x07.yaml:1: invalid YAML`)

	// A line feed in a file name cannot forge a second error line.
	forged := filepath.Join(t.TempDir(), "x.yaml\nguardrails check: all clear.yaml")
	if err := os.WriteFile(forged, []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "check", "-f", forged)
	if r.code != ExitBadInput {
		t.Fatalf("%s", r)
	}
	if n := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n"); n != 0 {
		t.Errorf("%d extra lines on stderr, want the one error line\n%s", n, r)
	}
	wantIn(t, "stderr", r.stderr, r, `x.yaml\nguardrails check: all clear.yaml:1: invalid YAML`)

	// guardrails test: names and details.
	suite := strings.Replace(gatorSuiteText("template.yaml", "constraint.yaml", "object.yaml"), "name: leak\n", "name: \"leak\\e[2J\\rPASS  forged\"\n", 1)
	dir = writeFiles(t, map[string]string{
		"suite.yaml":      suite,
		"template.yaml":   strings.Replace(leakyTemplate, "json.marshal(input.review.object)", `"bad\u001b[2J\nPASS  forged"`, 1),
		"constraint.yaml": leakyConstraint,
		"object.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: o\n  namespace: default\n",
	})
	r = runCLI(t, nil, "test", dir)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	if c := controlChars(r.stdout + r.stderr); len(c) > 0 {
		t.Errorf("raw control characters %q in test output\n%s", c, r)
	}
	wantIn(t, "stdout", r.stdout, r, `FAIL  gator leak\x1b[2J\rPASS  forged: leak/read`)
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "PASS") {
			t.Errorf("a forged PASS line: %q\n%s", l, r)
		}
	}
}
