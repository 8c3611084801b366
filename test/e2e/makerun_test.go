//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// localRun is one hack/run-local.sh (what `make run` runs after building)
// in its own process group, as in a terminal.
type localRun struct {
	t   *testing.T
	cmd *exec.Cmd
	out *syncBuffer
	end chan error
}

func startLocalRun(t *testing.T, root string, environ []string, name string, args ...string) *localRun {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	cmd.Env = environ
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &localRun{t: t, cmd: cmd, out: &syncBuffer{}, end: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.end <- cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	return r
}

// waitFor waits until the output contains s.
func (r *localRun) waitFor(s string, timeout time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.out.String(), s) {
		select {
		case err := <-r.end:
			r.end <- err
			r.t.Fatalf("exited (%v) before printing %q:\n%s", err, s, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("did not print %q within %s:\n%s", s, timeout, r.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ctrlC sends SIGINT to the process group, as Ctrl-C in a terminal does, and
// waits for the run to end.
func (r *localRun) ctrlC() {
	r.t.Helper()
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		r.t.Fatal(err)
	}
	select {
	case err := <-r.end:
		r.t.Logf("exited after Ctrl-C: %v", err)
	case <-time.After(90 * time.Second):
		r.t.Fatalf("did not stop within 90s of Ctrl-C:\n%s", r.out.String())
	}
}

// processesUnder lists the processes whose command line names dir: the
// cluster's components run from bin/k8s/ but with their configuration,
// data and logs under the local folder.
func processesUnder(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmdline, dir) {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+cmdline)
		}
	}
	return out
}

func noProcessesLeft(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := processesUnder(dir + "/")
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes of the cluster left running after Ctrl-C:\n%s", len(left), strings.Join(left, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestMakeRun is journey 10: `make run` with no kubectl on PATH reaches a
// ready manager on a first start and on a reuse start; Ctrl-C stops it;
// Ctrl-C during the cluster's start-up stops everything too, and nothing
// after it runs.
func TestMakeRun(t *testing.T) {
	root := repoRoot(t)
	local := t.TempDir()
	name := fmt.Sprintf("e2e-run-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	kwokDir := filepath.Join(local, "kwok")
	port := func() string { _, p, _ := net.SplitHostPort(freeAddr(t)); return p }
	environ := env(pathWithoutKubectl(t), kwokDir,
		"GUARDRAILS_LOCAL_DIR="+local, "KWOK_CLUSTER_NAME="+name,
		"METRICS_ADDR=127.0.0.1:"+port(), "PROBE_ADDR=127.0.0.1:"+port(), "WEBHOOK_PORT="+port())
	t.Cleanup(func() {
		del := exec.Command(filepath.Join(root, "bin", "k8s", "kwokctl"), "delete", "cluster", "--name", name)
		del.Env = environ
		if b, err := del.CombinedOutput(); err != nil {
			t.Logf("kwokctl delete cluster: %v\n%s", err, b)
		}
	})
	kubectl := func(args ...string) result {
		return run(t, root, environ, "", time.Minute, filepath.Join(root, "bin", "kubectl"), append([]string{"--kubeconfig", filepath.Join(local, "kubeconfig")}, args...)...)
	}

	// hack/run-local.sh is what `make run` runs once it has built (make
	// test-e2e built the same things first); calling make here would
	// only rebuild them, a minute and a half on 2 cores.
	script := filepath.Join(root, "hack", "run-local.sh")
	t.Run("first start", func(t *testing.T) {
		start := time.Now()
		r := startLocalRun(t, root, environ, script)
		r.waitFor("creating simulated cluster", 5*time.Minute)
		r.waitFor("manager started", 4*time.Minute)
		r.waitFor("the manager is ready", 2*time.Minute)
		r.waitFor("get martech -A", 2*time.Minute)
		t.Logf("first start: the manager ready and the samples applied in %s", time.Since(start).Round(time.Second))
		out := r.out.String()
		// Problem 1: kwokctl uses bin/k8s/kubectl, never a download.
		if strings.Contains(out, "Download") || strings.Contains(out, "Retry after") {
			t.Errorf("kwokctl tried to download something:\n%s", out)
		}
		wantAll(t, "make run", out, "registered the admission webhooks", "bin/kubectl --kubeconfig")
		if g := kubectl("get", "martech", "-A"); g.code != 0 || !strings.Contains(g.out, "winter-sale-microsite") {
			t.Errorf("bin/kubectl get martech -A exited %d:\n%s", g.code, g.out)
		}
		// The sample Gatekeeper template and constraint are in force: the
		// docs example's rendered Deployment is refused at apply time, with
		// the README's message (server-side dry-run: a pass before the
		// constraint is loaded stores nothing).
		wantAll(t, "make run", out, "k8snoliteralsecrets", "no-literal-secrets")
		want := "no-literal-secrets (Deployment/spring-teaser): Deployment spring-teaser: container app sets ANALYTICS_API_KEY as a literal value"
		var g result
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			if g = kubectl("apply", "--dry-run=server", "-f", filepath.Join(root, "docs", "examples", "literal-secret-workload.yaml")); g.code != 0 && strings.Contains(g.out, want) {
				break
			}
		}
		if g.code == 0 || !strings.Contains(g.out, want) {
			t.Errorf("apply of docs/examples/literal-secret-workload.yaml exited %d, want a denial with %q:\n%s", g.code, want, g.out)
		}
		r.ctrlC()
		wantAll(t, "make run after Ctrl-C", r.out.String(), "stopping simulated cluster")
		noProcessesLeft(t, local)
	})
	if t.Failed() {
		return
	}

	t.Run("reuse start", func(t *testing.T) {
		start := time.Now()
		r := startLocalRun(t, root, environ, script)
		r.waitFor("starting existing simulated cluster", time.Minute)
		r.waitFor("manager started", 3*time.Minute)
		r.waitFor("the manager is ready", time.Minute)
		t.Logf("reuse start: the manager ready in %s", time.Since(start).Round(time.Second))
		if strings.Contains(r.out.String(), "recreating") {
			t.Errorf("the existing cluster was recreated, not reused:\n%s", r.out.String())
		}
		r.ctrlC()
		noProcessesLeft(t, local)
	})

	// Problem 2: Ctrl-C 0.3 s into the cluster's start-up.
	t.Run("Ctrl-C during start-up", func(t *testing.T) {
		r := startLocalRun(t, root, environ, script)
		r.waitFor("starting existing simulated cluster", time.Minute)
		time.Sleep(300 * time.Millisecond)
		r.ctrlC()
		out := r.out.String()
		_, after, _ := strings.Cut(out, "starting existing simulated cluster")
		for _, never := range []string{"installing CRDs", "starting the manager", "applying config/samples/"} {
			if strings.Contains(after, never) {
				t.Errorf("after Ctrl-C the script went on to %q:\n%s", never, out)
			}
		}
		wantAll(t, "run-local.sh after Ctrl-C", out, "interrupted")
		noProcessesLeft(t, local)
	})
}
