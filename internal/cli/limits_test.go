package cli

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/martech-guardrails/guardrails/internal/manifest"
)

// A file over --max-file-size, inputs over --max-input-size and standard
// input over --max-file-size are refused with exit 2, naming the file and
// the limit.
func TestSizeLimits(t *testing.T) {
	vendor := "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: %s}\nspec: {displayName: V, category: crm, status: approved}\n"
	pad := "# " + strings.Repeat("x", 600) + "\n"
	dir := writeFiles(t, map[string]string{
		"a.yaml": strings.Replace(vendor, "%s", "a", 1) + pad,
		"b.yaml": strings.Replace(vendor, "%s", "b", 1) + pad,
		"c.yaml": strings.Replace(vendor, "%s", "c", 1) + pad + pad,
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", dir + "/c.yaml", "--max-file-size", "1Ki"}, dir + "/c.yaml: the file is 1.3 KiB, more than --max-file-size 1 KiB"},
		{[]string{"-f", dir, "--max-file-size", "1Ki"}, dir + "/c.yaml: the file is 1.3 KiB, more than --max-file-size 1 KiB"},
		{[]string{"-f", dir, "--max-input-size", "2000"}, dir + "/c.yaml: with this file the inputs would be 2.7 KiB, more than --max-input-size 2000 bytes"},
		{[]string{"-f", dir + "/a.yaml", "--vendors", dir + "/b.yaml", "--max-input-size", "1Ki"}, dir + "/b.yaml: with this file the inputs would be 1.4 KiB, more than --max-input-size 1 KiB"},
		{[]string{"-f", "-", "--max-file-size", "1Ki"}, "stdin: more than --max-file-size 1 KiB"},
	} {
		args := append([]string{"check"}, c.args...)
		r := runCLI(t, strings.NewReader(strings.Repeat(pad, 3)), args...)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %s\nwant exit 2 and %q", c.args, r, c.want)
		}
	}
	// Under the limits, the same inputs are read.
	r := runCLI(t, strings.NewReader(pad), "check", "-f", dir, "-f", "-", "--max-file-size", "2KiB", "--max-input-size", "1M")
	if r.code != ExitOK || !strings.Contains(r.stdout, "3 objects") {
		t.Errorf("%s", r)
	}
}

func TestSizeFlags(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"100", 100}, {"1Ki", 1 << 10}, {"1KiB", 1 << 10}, {"64Mi", 64 << 20}, {"64MiB", 64 << 20}, {"1Gi", 1 << 30},
		{"2GiB", 2 << 30}, {"1k", 1000}, {"1K", 1000}, {"1kB", 1000}, {"5M", 5e6}, {"5MB", 5e6}, {"1G", 1e9}, {"1Ti", 1 << 40}, {"10B", 10},
	} {
		var s manifest.ByteSize
		if err := s.Set(c.in); err != nil || int64(s) != c.want {
			t.Errorf("%q: %d, %v; want %d", c.in, s, err, c.want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1.5Mi", "Mi", "12 apples", "1Qi", "99999999999999999999", "9000000Ti"} {
		var s manifest.ByteSize
		if err := s.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, s)
		}
	}
	r := runCLI(t, nil, "check", "-f", samples, "--max-file-size", "lots")
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "--max-file-size") && !strings.Contains(r.stderr, "-max-file-size") {
		t.Errorf("%s", r)
	}
	r = runCLI(t, nil, "check", "-h")
	wantIn(t, "help", r.stdout, r, "-max-file-size SIZE", "(default 64Mi)", "-max-input-size SIZE", "(default 1Gi)")
}

// A read error ends the run with exit 2 naming the input, never with the
// documents read before it passing as the whole input.
func TestReadErrorIsReported(t *testing.T) {
	vendor := "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v}\nspec: {displayName: V, category: crm, status: approved}\n---\n"
	stdin := io.MultiReader(strings.NewReader(vendor+strings.Repeat("# more\n", 20000)), iotest.ErrReader(errors.New("connection reset")))
	r := runCLI(t, stdin, "check", "-f", "-")
	if r.code != ExitBadInput || strings.TrimSpace(r.stderr) != "stdin: connection reset" || r.stdout != "" {
		t.Errorf("%s", r)
	}
}
