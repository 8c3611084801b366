//go:build unix

package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLIWithin runs guardrails, failing the test if it has not finished
// within d (a FIFO opened for reading blocks until a writer comes: unblock
// is then called to let the run end).
func runCLIWithin(t *testing.T, d time.Duration, unblock func(), args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- runCLI(t, nil, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		for {
			unblock()
			select {
			case <-done:
				t.Fatalf("%v still running after %s", args, d)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// Only regular files are read: FIFOs, devices and sockets are refused with
// exit 2 naming the file, given alone or met in a directory, and symlinks
// are followed only to regular files. A FIFO used to hang check, a symlink
// to /dev/zero to exhaust memory.
func TestOnlyRegularFilesAreRead(t *testing.T) {
	vendor := "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v}\nspec: {displayName: V, category: crm, status: approved}\n"
	dir := writeFiles(t, map[string]string{"real/vendor.yaml": vendor})
	fifo := filepath.Join(dir, "fifo", "x.yaml")
	if err := os.Mkdir(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	unblock := func() {
		// A writer that goes at once lets a blocked reader end.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	}
	zero := filepath.Join(dir, "zero", "z.yaml")
	if err := os.Mkdir(filepath.Dir(zero), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock", "s.yaml")
	if err := os.Mkdir(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer func() { _ = l.Close() }()
	link := filepath.Join(dir, "real", "link.yaml")
	if err := os.Symlink("vendor.yaml", link); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		path, want string
	}{
		{fifo, fifo + ": not a regular file (a named pipe)"},
		{filepath.Dir(fifo), fifo + ": not a regular file (a named pipe)"},
		{zero, zero + ": not a regular file (a device)"},
		{filepath.Dir(zero), zero + ": not a regular file (a device)"},
		{sock, sock + ": not a regular file (a socket)"},
		{filepath.Dir(sock), sock + ": not a regular file (a socket)"},
		{"/dev/null", "/dev/null: not a regular file (a device)"},
	} {
		r := runCLIWithin(t, 10*time.Second, unblock, "check", "-f", c.path)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: %s\nwant exit 2 and %q", c.path, r, c.want)
		}
	}
	// --vendors, --policies and --standard are held to the same rule.
	for _, flag := range []string{"--vendors", "--policies", "--standard"} {
		r := runCLIWithin(t, 10*time.Second, unblock, "check", "-f", filepath.Join(dir, "real", "vendor.yaml"), flag, fifo)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, fifo+": not a regular file") {
			t.Errorf("%s %s: %s", flag, fifo, r)
		}
	}
	// A symlink to a regular file is read (once: it is the same object).
	r := runCLI(t, nil, "check", "-f", link, "-o", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"objects": 1`) {
		t.Errorf("%s", r)
	}
}
