//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory walk follows symlinked directories, for check, dataflow,
// policies and test alike (one walker, manifest.WalkFiles): they used to be
// skipped without a word, so `check -f dir` passed what dir/linked held.
// A link back to a directory already read (a loop) is exit 2 naming it.
func TestSymlinkedDirectoriesAreRead(t *testing.T) {
	policy := `apiVersion: martech.guardrails.dev/v1alpha1
kind: GuardrailPolicy
metadata: {name: linked-policy}
spec:
  enforcement: deny
  targets: [Vendor]
  rego: |
    package custom.linked
    import rego.v1
    violation contains "linked" if input.object.metadata.name == "never"
`
	regoTest := "package linked_test\nimport rego.v1\ntest_linked if false\n"
	dir := writeFiles(t, map[string]string{
		"real/vendor.yaml":      hiddenVendorDoc,
		"real/policy.yaml":      policy,
		"real/linked_test.rego": regoTest,
		"top/clean.yaml":        cleanVendor,
	})
	link := filepath.Join(dir, "top", "linked")
	if err := os.Symlink(filepath.Join("..", "real"), link); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "top")

	r := runCLI(t, nil, "check", "-f", top, "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, filepath.Join(link, "vendor.yaml")+":1: Vendor hidden: spec.displayName: Required value") {
		t.Errorf("check: want exit 2 on the Vendor in the linked directory\n%s", r)
	}
	r = runCLI(t, nil, "dataflow", "-f", top, "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, filepath.Join(link, "vendor.yaml")) {
		t.Errorf("dataflow: want exit 2 on the Vendor in the linked directory\n%s", r)
	}
	r = runCLI(t, nil, "policies", "--policies", top)
	if !strings.Contains(r.stderr+r.stdout, "linked") {
		t.Errorf("policies: the linked directory is not read\n%s", r)
	}
	r = runCLI(t, nil, "test", top)
	if r.code != ExitDenied || !strings.Contains(r.stdout+r.stderr, "test_linked") {
		t.Errorf("test: want the failing Rego test of the linked directory (exit 1)\n%s", r)
	}

	// A loop: top/linked/back -> .. (real's parent holds top).
	if err := os.Symlink("..", filepath.Join(dir, "real", "back")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "-f", top}, {"policies", "--policies", top}, {"test", top}} {
		r := runCLI(t, nil, args...)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, "symbolic link") {
			t.Errorf("%v: want exit 2 naming the symbolic link\n%s", args, r)
		}
	}
}

const hiddenVendorDoc = "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: hidden}\nspec: {category: crm, status: approved}\n"
