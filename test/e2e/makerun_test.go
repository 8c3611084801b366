//go:build e2e

package e2e

import (
	"bytes"
	"context"
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

// TestMakeRun runs hack/run-local.sh, which is what `make run` runs after
// building: a kwok cluster, the CRDs, the manager with its admission webhooks
// served to that cluster, and the samples. It then uses the real kubectl as
// the README says, checks that the webhooks answer, and stops it with Ctrl-C
// (SIGINT).
func TestMakeRun(t *testing.T) {
	root := repoRoot(t)
	local := t.TempDir()
	cluster := "e2e-run"
	cmd := exec.Command(filepath.Join(root, "hack", "run-local.sh"))
	cmd.Env = append(os.Environ(),
		"GUARDRAILS_LOCAL_DIR="+local,
		"KWOK_CLUSTER_NAME="+cluster,
		"METRICS_ADDR=127.0.0.1:18180",
		"PROBE_ADDR=127.0.0.1:18181",
		"WEBHOOK_PORT=19443",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kwokctl := filepath.Join(root, "bin", "k8s", "kwokctl")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			_ = cmd.Wait()
		}
		del := exec.Command(kwokctl, "delete", "cluster", "--name", cluster)
		del.Env = append(os.Environ(), "KWOK_WORKDIR="+filepath.Join(local, "kwok"))
		if b, err := del.CombinedOutput(); err != nil {
			t.Logf("kwokctl delete cluster: %v\n%s", err, b)
		}
		if t.Failed() {
			t.Logf("run-local.sh output:\n%s", out.String())
		}
	})

	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(out.String(), "get martech -A") {
		if time.Now().After(deadline) {
			t.Fatalf("run-local.sh did not print the next step within 4m")
		}
		if cmd.ProcessState != nil {
			t.Fatalf("run-local.sh exited early")
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(out.String(), "registered the admission webhooks") {
		t.Errorf("webhooks were not registered")
	}

	kubeconfig := filepath.Join(local, "kubeconfig")
	kubectl := func(stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
		c.Stdin = strings.NewReader(stdin)
		b, err := c.CombinedOutput()
		return string(b), err
	}

	var listing string
	for i := 0; i < 60; i++ {
		listing, _ = kubectl("", "get", "martech", "-A")
		if strings.Count(listing, "Active") >= 2 {
			break
		}
		time.Sleep(time.Second)
	}
	for _, want := range []string{"winter-sale-microsite", "server-side-tags", "Active", "hubspot-email", "pinned-image-tags", "retargeting-pilot-q4"} {
		if !strings.Contains(listing, want) {
			t.Errorf("bin/kubectl get martech -A lacks %q:\n%s", want, listing)
		}
	}
	t.Logf("bin/kubectl --kubeconfig .local/kubeconfig get martech -A:\n%s", listing)
	if msg, err := kubectl("", "wait", "-n", "growth-marketing", "--for", "condition=Available", "--timeout=90s", "deploy/winter-sale-microsite", "deploy/server-side-tags"); err != nil {
		t.Errorf("the sample workloads' Deployments did not become Available on the simulated nodes: %v\n%s", err, msg)
	} else {
		deploys, _ := kubectl("", "get", "deploy", "-n", "growth-marketing")
		t.Logf("bin/kubectl get deploy -n growth-marketing:\n%s", deploys)
	}

	bad := `apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: bad-promo
  namespace: growth-marketing
spec:
  owner: {team: growth, contact: growth-team@acme.example}
  costCenter: MKT-4100
  image: docker.io/library/nginx:1.27
`
	msg, err := kubectl(bad, "apply", "--dry-run=server", "-f", "-")
	if err == nil {
		t.Errorf("the webhook admitted an image from docker.io:\n%s", msg)
	}
	for _, want := range []string{"allowed-registries", "spec.image"} {
		if !strings.Contains(msg, want) {
			t.Errorf("denial does not name %q:\n%s", want, msg)
		}
	}

	typo := strings.Replace(bad, "image: docker.io/library/nginx:1.27", "image: ghcr.io/acme-marketing/promo:1.0.0\n  dataCategories: [user.contact.emial]", 1)
	msg, err = kubectl(typo, "apply", "--dry-run=server", "-f", "-")
	if err == nil || !strings.Contains(msg, "user.contact.email") {
		t.Errorf("an unknown data category was not rejected with a suggestion (err=%v):\n%s", err, msg)
	}

	// The README's examples: a bad workload is denied naming policy and
	// field; a restricted vendor's integration applies with a warning.
	msg, err = kubectl("", "apply", "-f", filepath.Join(root, "docs", "examples", "bad-workload.yaml"))
	if err == nil {
		t.Errorf("docs/examples/bad-workload.yaml was admitted:\n%s", msg)
	}
	for _, want := range []string{"allowed-registries: spec.image:", "pinned-image-tags: spec.image:", "exposure-host: spec.exposure.host:", "ownership: spec.owner.contact:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the denial lacks %q:\n%s", want, msg)
		}
	}
	msg, err = kubectl("", "apply", "-f", filepath.Join(root, "docs", "examples", "restricted-vendor-integration.yaml"))
	if err != nil {
		t.Errorf("docs/examples/restricted-vendor-integration.yaml was rejected: %v\n%s", err, msg)
	}
	if !strings.Contains(msg, "Warning: vendor-approved: spec.vendor:") || !strings.Contains(msg, "created") {
		t.Errorf("the restricted vendor's integration did not apply with a warning:\n%s", msg)
	}

	// Ctrl-C stops the manager and the cluster.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		stopped = true
		// Interrupted, run-local.sh exits with the manager's status;
		// what matters is that it stopped and took the cluster down.
		t.Logf("run-local.sh exited after Ctrl-C: %v", err)
	case <-time.After(time.Minute):
		t.Fatalf("run-local.sh did not stop within a minute of Ctrl-C")
	}
	if !strings.Contains(out.String(), "stopping simulated cluster") {
		t.Errorf("the cluster was not stopped on Ctrl-C")
	}
	if _, err := kubectl("", "get", "ns", "--request-timeout=3s"); err == nil {
		t.Errorf("the cluster still answers after Ctrl-C")
	}
}
