//go:build e2e

// Package e2e runs the operator end to end on a simulated cluster (kwok with
// a real kube-apiserver, etcd, controller-manager and scheduler from
// bin/k8s/) and drives it as its users do: every step is bin/kubectl or
// bin/guardrails run as a subprocess, with a PATH that has no kubectl, and
// what the test asserts is what the user sees (exit code, printed lines,
// `get` columns). Run with `make test-e2e`; see docs/e2e.md.
//
// Each suite has its own cluster name and KWOK_WORKDIR under a temporary
// folder, and picks free loopback ports, so that runs on one machine never
// share a cluster or a port. The cluster is deleted when the suite ends,
// failed or not.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// pathWithoutKubectl returns a PATH of one folder holding links to every
// program on the current PATH except kubectl: what a fresh machine has.
func pathWithoutKubectl(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "path")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Name() == "kubectl" || e.IsDir() {
				continue
			}
			link := filepath.Join(dir, e.Name())
			if _, err := os.Lstat(link); err == nil {
				continue // the first on PATH wins, as for a shell
			}
			_ = os.Symlink(filepath.Join(d, e.Name()), link)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "kubectl")); err == nil {
		t.Fatal("the test PATH has a kubectl")
	}
	return dir
}

// freeAddr returns 127.0.0.1:port for a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// env is the environment of every subprocess: PATH without kubectl, no
// KUBECONFIG of the developer's, and the suite's own kwok workdir.
func env(path, kwokWorkdir string, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "PATH", "KUBECONFIG", "KWOK_WORKDIR":
		default:
			out = append(out, kv)
		}
	}
	return append(append(out, "PATH="+path, "KWOK_WORKDIR="+kwokWorkdir), extra...)
}

// result is what a command printed (stdout and stderr together) and its
// exit code.
type result struct {
	out  string
	code int
}

// run runs a command from the repository root, as the README's commands
// are typed, and returns what a user would see.
func run(t *testing.T, root string, environ []string, stdin string, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	r, err := runE(root, environ, stdin, timeout, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runE is run for a goroutine: an error instead of t.Fatal when the
// command cannot be run at all.
func runE(root string, environ []string, stdin string, timeout time.Duration, name string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // the suite's own binaries and arguments
	cmd.Dir = root
	cmd.Env = environ
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return result{}, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{out: out.String(), code: code}, nil
}

// suite is one simulated cluster prepared by `hack/run-local.sh
// --no-manager` (what `make run` does before it starts the manager) and the
// manager run against it as `make run` runs it.
type suite struct {
	t, top                *testing.T // the running journey's test; the suite's
	root, local, name     string
	path, kwok            string
	kubeconfig, probeAddr string
	metricsAddr           string
	managerArgs           []string
	setupLog              string // what hack/run-local.sh --no-manager printed

	mgr     *exec.Cmd
	mgrLog  *syncBuffer
	mgrDone chan struct{}
	logs    []string // earlier managers' logs
}

func newSuite(t *testing.T) *suite {
	s := newCluster(t)
	if !strings.Contains(s.setupLog, "registered the admission webhooks") {
		t.Fatalf("the webhooks were not registered:\n%s", s.setupLog)
	}
	s.startManager()
	return s
}

// newCluster prepares the suite's cluster as newSuite does, without
// starting a manager; extraEnv goes to hack/run-local.sh (WEBHOOKS=false:
// no webhooks registered for a local manager).
func newCluster(t *testing.T, extraEnv ...string) *suite {
	root := repoRoot(t)
	for _, b := range []string{"bin/manager", "bin/guardrails", "bin/kubectl", "bin/k8s/kwokctl", "bin/k8s/kube-apiserver", "bin/k8s/etcd", "bin/k8s/kwok"} {
		if _, err := os.Stat(filepath.Join(root, b)); err != nil {
			t.Fatalf("%s missing: run `make test-e2e` (it builds it)", b)
		}
	}
	local := t.TempDir()
	s := &suite{
		t: t, top: t, root: root, local: local,
		name:        fmt.Sprintf("e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000),
		path:        pathWithoutKubectl(t),
		kwok:        filepath.Join(local, "kwok"),
		kubeconfig:  filepath.Join(local, "kubeconfig"),
		probeAddr:   freeAddr(t),
		metricsAddr: freeAddr(t),
	}
	_, webhookPort, _ := net.SplitHostPort(freeAddr(t))
	t.Cleanup(s.teardown)
	start := time.Now()
	r := run(t, root, s.env(append([]string{"GUARDRAILS_LOCAL_DIR=" + local, "KWOK_CLUSTER_NAME=" + s.name,
		"METRICS_ADDR=" + s.metricsAddr, "PROBE_ADDR=" + s.probeAddr, "WEBHOOK_PORT=" + webhookPort}, extraEnv...)...),
		"", 4*time.Minute, filepath.Join(root, "hack", "run-local.sh"), "--no-manager")
	if r.code != 0 {
		t.Fatalf("hack/run-local.sh --no-manager exited %d:\n%s", r.code, r.out)
	}
	if strings.Contains(r.out, "Download") {
		t.Errorf("kwokctl downloaded something (kubectl?) instead of using bin/k8s:\n%s", r.out)
	}
	s.setupLog = r.out
	t.Logf("cluster %s ready in %s", s.name, time.Since(start).Round(time.Second))
	args, err := os.ReadFile(filepath.Join(local, "manager-args"))
	if err != nil {
		t.Fatal(err)
	}
	s.managerArgs = strings.Fields(string(args))
	return s
}

func (s *suite) env(extra ...string) []string { return env(s.path, s.kwok, extra...) }

// kubectl runs bin/kubectl --kubeconfig <the suite's> args.
func (s *suite) kubectl(args ...string) result {
	s.t.Helper()
	return run(s.t, s.root, s.env(), "", 3*time.Minute, filepath.Join(s.root, "bin", "kubectl"), append([]string{"--kubeconfig", s.kubeconfig}, args...)...)
}

// kubectlIn is kubectl with stdin (for `-f -`).
func (s *suite) kubectlIn(stdin string, args ...string) result {
	s.t.Helper()
	return run(s.t, s.root, s.env(), stdin, time.Minute, filepath.Join(s.root, "bin", "kubectl"), append([]string{"--kubeconfig", s.kubeconfig}, args...)...)
}

// ok is kubectl that must exit 0; it returns what it printed.
func (s *suite) ok(args ...string) string {
	s.t.Helper()
	r := s.kubectl(args...)
	if r.code != 0 {
		s.t.Fatalf("bin/kubectl %s exited %d:\n%s", strings.Join(args, " "), r.code, r.out)
	}
	return r.out
}

// guardrails runs bin/guardrails args.
func (s *suite) guardrails(args ...string) result {
	s.t.Helper()
	return run(s.t, s.root, s.env(), "", time.Minute, filepath.Join(s.root, "bin", "guardrails"), args...)
}

// kwokctl runs bin/k8s/kwokctl on the suite's cluster.
func (s *suite) kwokctl(args ...string) result {
	s.t.Helper()
	return run(s.t, s.root, s.env(), "", 3*time.Minute, filepath.Join(s.root, "bin", "k8s", "kwokctl"), append([]string{"--name", s.name}, args...)...)
}

// eventually polls f until it returns "" or timeout passes.
func (s *suite) eventually(timeout time.Duration, what string, f func() string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(time.Second)
	}
	s.t.Fatalf("%s: not within %s: %s", what, timeout, last)
}

// startManager starts bin/manager with the arguments run-local.sh wrote and
// waits until it is ready (/readyz, which includes the webhooks).
func (s *suite) startManager() {
	s.t.Helper()
	if s.mgrLog != nil {
		s.logs = append(s.logs, s.mgrLog.String())
	}
	s.mgrLog = &syncBuffer{}
	cmd := exec.Command(filepath.Join(s.root, "bin", "manager"), s.managerArgs...)
	cmd.Dir = s.root
	cmd.Env = s.env("KUBECONFIG=" + filepath.Join(s.local, "manager.kubeconfig"))
	cmd.Stdout, cmd.Stderr = s.mgrLog, s.mgrLog
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mgr, s.mgrDone = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.mgrDone)
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-s.mgrDone:
			s.t.Fatalf("the manager exited while starting:\n%s", s.mgrLog.String())
		default:
		}
		if resp, err := http.Get("http://" + s.probeAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the manager is not ready after 90s:\n%s", s.mgrLog.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// stopManager sends sig to the manager and waits for it to exit.
func (s *suite) stopManager(sig syscall.Signal) {
	if s.mgr == nil {
		return
	}
	_ = s.mgr.Process.Signal(sig)
	select {
	case <-s.mgrDone:
	case <-time.After(30 * time.Second):
		_ = s.mgr.Process.Kill()
		<-s.mgrDone
	}
	s.mgr = nil
}

// managerLog is everything every manager of the suite logged.
func (s *suite) managerLog() string {
	return strings.Join(append(append([]string{}, s.logs...), s.mgrLog.String()), "\n")
}

func (s *suite) teardown() {
	s.stopManager(syscall.SIGTERM)
	if s.top.Failed() && s.mgrLog != nil {
		log := s.managerLog()
		if len(log) > 20000 {
			log = "…" + log[len(log)-20000:]
		}
		s.top.Logf("manager log (tail):\n%s", log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	del := exec.CommandContext(ctx, filepath.Join(s.root, "bin", "k8s", "kwokctl"), "delete", "cluster", "--name", s.name)
	del.Env = s.env()
	if out, err := del.CombinedOutput(); err != nil {
		s.top.Logf("kwokctl delete cluster: %v\n%s", err, out)
	}
}

// jsonpath is `get KIND NAME -n NS -o jsonpath=EXPR`, "" when it fails.
func (s *suite) jsonpath(ns, what, expr string) string {
	s.t.Helper()
	args := []string{"get", what, "-o", "jsonpath=" + expr}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	r := s.kubectl(args...)
	if r.code != 0 {
		return ""
	}
	return r.out
}

// wantAll fails for each of wants that out lacks.
func wantAll(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}
