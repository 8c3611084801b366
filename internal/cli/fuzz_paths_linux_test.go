package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// FuzzSuitePaths writes a gator or fixture suite naming arbitrary paths
// (BASE stands for the absolute directory above the suite's) and runs
// `guardrails test` on its directory: whatever the paths, no file outside
// the suite's directory is opened. The oracle is the kernel's: inotify
// reports every open of a file in the directory above the suite's and in
// a directory beside it, where the secrets are, also through symbolic
// links (those of the suite's directory are in .l/, which discovery skips,
// so only the suite's paths can reach them).
func FuzzSuitePaths(f *testing.F) {
	base := f.TempDir()
	suite := filepath.Join(base, "suite")
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: default\n"
	}
	files := map[string]string{
		"secret.yaml":           cm("secret"),
		"secretdir/secret.yaml": cm("secret2"),
		"suite/template.yaml":   leakyTemplate,
		"suite/constraint.yaml": leakyConstraint,
		"suite/object.yaml":     cm("o"),
		"suite/ok/object.yaml":  cm("ok"),
	}
	for name, content := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(suite, ".l"), 0o755); err != nil {
		f.Fatal(err)
	}
	for link, target := range map[string]string{
		".l/out.yaml": "../../secret.yaml",
		".l/outdir":   "../../secretdir",
		".l/abs.yaml": filepath.Join(base, "secret.yaml"),
		".l/in.yaml":  "../object.yaml",
		".l/loop":     "loop",
		".l/up":       "..",
	} {
		if err := os.Symlink(target, filepath.Join(suite, link)); err != nil {
			f.Fatal(err)
		}
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		f.Skipf("inotify: %v", err)
	}
	defer func() { _ = syscall.Close(fd) }()
	for _, dir := range []string{base, filepath.Join(base, "secretdir")} {
		if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_OPEN); err != nil {
			f.Fatal(err)
		}
	}
	opened := func() []string {
		var names []string
		buf := make([]byte, 64*1024)
		for {
			n, err := syscall.Read(fd, buf)
			if n <= 0 || err != nil {
				return names
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off])) //nolint:gosec // inotify(7) records, decoded as the kernel lays them out
				name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				if name != "suite" { // the suite's own directory
					names = append(names, name)
				}
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}

	// The repros of issue 26 and their variants.
	for _, seed := range []struct {
		gator   bool
		a, b, c string
	}{
		{true, "template.yaml", "../secret.yaml", ""},
		{true, "BASE/secret.yaml", "object.yaml", ""},
		{true, "/etc/passwd", "object.yaml", ""},
		{true, "template.yaml", ".l/out.yaml", ""},
		{true, "template.yaml", "object.yaml", ".l/outdir/secret.yaml"},
		{true, "template.yaml", ".l/up/secret.yaml", ""},
		{true, "template.yaml", ".l/in.yaml", ".l/loop"},
		{true, "template.yaml", "ok/../../secret.yaml", ""},
		{false, "ok/", "BASE/secretdir", ""},
		{false, "ok/", "../secretdir/", ""},
		{false, ".l/outdir", "ok", ""},
		{false, "ok/", ".l", ""},
		{false, "ok/", "", "../secret.yaml"},
		{false, "ok/", "-", ".l/abs.yaml"},
		{false, "/etc/passwd", "ok/", ""},
	} {
		f.Add(seed.gator, seed.a, seed.b, seed.c)
	}
	f.Fuzz(func(t *testing.T, gator bool, a, b, c string) {
		for _, p := range []*string{&a, &b, &c} {
			*p = strings.ReplaceAll(*p, "BASE", base)
		}
		q := func(s string) string { j, _ := json.Marshal(s); return string(j) }
		_ = os.Remove(filepath.Join(suite, "suite.yaml"))
		_ = os.Remove(filepath.Join(suite, "guardrails-test.yaml"))
		name, text := "guardrails-test.yaml", "name: fuzz\ninputs: ["+q(a)+", "+q(b)+"]\n"
		if c != "" {
			text += "standard: " + q(c) + "\n"
		}
		text += "cases:\n  - object: ConfigMap/default/ok\n"
		if gator {
			name = "suite.yaml"
			text = gatorSuiteText(q(a), "constraint.yaml", q(b))
			if c != "" {
				text = strings.Replace(text, "        assertions:", "        inventory: ["+q(c)+"]\n        assertions:", 1)
			}
		}
		if err := os.WriteFile(filepath.Join(suite, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		opened() // drop the events of the writes
		r := runCLI(t, nil, "test", suite)
		if names := opened(); len(names) > 0 {
			t.Fatalf("files outside the suite's directory were opened: %q\n--- %s\n%s\n%s", names, name, text, r)
		}
	})
}
