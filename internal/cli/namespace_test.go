package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --namespace puts namespaced objects that name none in that namespace,
// and a namespace on a cluster-scoped Vendor is dropped, as the API server
// drops it (kubectl applies such a file without a word). Both used to be
// exit 2 ("metadata.namespace: Required value", "Forbidden"): the
// namespace was set on, or dropped from, a map the schema step had
// already replaced.
func TestNamespaceDefaults(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(samples, "06_saasintegrations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	vendors, err := os.ReadFile(filepath.Join(samples, "02_vendors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{
		"i.yaml": strings.ReplaceAll(string(src), "  namespace: growth-marketing\n", ""),
		"v.yaml": strings.ReplaceAll(string(vendors), "metadata:\n", "metadata:\n  namespace: somewhere\n"),
	})
	common := []string{"--now", testNow, "-f", filepath.Join(samples, "00_namespace.yaml"), "-f", filepath.Join(samples, "01_platformstandard.yaml"), "-f", filepath.Join(samples, "03_secrets.yaml"), "-o", "json"}
	want := runCLI(t, nil, append([]string{"check", "-f", filepath.Join(samples, "06_saasintegrations.yaml"), "-f", filepath.Join(samples, "02_vendors.yaml")}, common...)...)
	got := runCLI(t, nil, append([]string{"check", "-f", filepath.Join(dir, "i.yaml"), "-f", filepath.Join(dir, "v.yaml"), "--namespace", "growth-marketing"}, common...)...)
	if got.code != want.code || got.code == ExitBadInput || !strings.Contains(got.stdout, `"namespace": "growth-marketing"`) {
		t.Errorf("without namespaces, with --namespace growth-marketing: %s\nwant exit %d as with them", got, want.code)
	}
	if strings.Contains(got.stdout, "somewhere") {
		t.Errorf("the Vendors' namespace is kept: %s", got)
	}
}

// A check that checked nothing says so: an empty file, an empty directory,
// empty standard input, or inputs with none of our objects are exit 2
// ("no objects to check"), unless --allow-empty. They used to pass with
// "0 objects" and exit 0.
func TestNothingToCheck(t *testing.T) {
	dir := writeFiles(t, map[string]string{"empty.yaml": "", "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"})
	emptyDir := filepath.Join(dir, "nothing")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path string
	}{
		{"empty file", filepath.Join(dir, "empty.yaml")},
		{"empty directory", emptyDir},
		{"empty stdin", "-"},
		{"no object of ours", filepath.Join(dir, "cm.yaml")},
	} {
		r := runCLI(t, strings.NewReader(""), "check", "-f", c.path)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, "guardrails check: no objects to check in "+c.path) {
			t.Errorf("%s: want exit 2, no objects to check\n%s", c.name, r)
		}
		r = runCLI(t, strings.NewReader(""), "check", "-f", c.path, "--allow-empty")
		if r.code != ExitOK || !strings.Contains(r.stdout, "0 objects") {
			t.Errorf("%s --allow-empty: want exit 0\n%s", c.name, r)
		}
	}
}
