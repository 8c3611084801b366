//go:build e2e

// Package e2e runs the operator end to end on a simulated cluster (kwok with
// a real kube-apiserver, etcd, controller-manager and scheduler) and drives it
// with the real kubectl, as a marketing engineer would. Run with
// `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type cluster struct {
	t          *testing.T
	root, bins string
	workdir    string
	name       string
	kubeconfig string
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func (c *cluster) run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+c.workdir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c *cluster) kubectl(args ...string) (string, error) {
	return c.run(60*time.Second, filepath.Join(c.bins, "kubectl"), append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
}

func (c *cluster) mustKubectl(args ...string) string {
	c.t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually polls f until it returns "" or the timeout passes.
func (c *cluster) eventually(timeout time.Duration, what string, f func() string) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(time.Second)
	}
	c.t.Fatalf("%s: not reached within %s: %s", what, timeout, last)
}

func startCluster(t *testing.T) *cluster {
	root := repoRoot(t)
	c := &cluster{t: t, root: root, bins: filepath.Join(root, "bin", "k8s"), workdir: t.TempDir(), name: fmt.Sprintf("e2e-%d", time.Now().Unix()%100000)}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwokctl", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(c.bins, b)); err != nil {
			t.Fatalf("%s missing in %s: run `make k8s-bins`", b, c.bins)
		}
	}
	out, err := c.run(3*time.Minute, filepath.Join(c.bins, "kwokctl"), "create", "cluster", "--name", c.name, "--runtime", "binary",
		"--kube-apiserver-binary", filepath.Join(c.bins, "kube-apiserver"),
		"--kube-controller-manager-binary", filepath.Join(c.bins, "kube-controller-manager"),
		"--kube-scheduler-binary", filepath.Join(c.bins, "kube-scheduler"),
		"--kwok-controller-binary", filepath.Join(c.bins, "kwok"),
		"--etcd-binary", filepath.Join(c.bins, "etcd"), "--wait", "120s")
	if err != nil {
		t.Fatalf("kwokctl create cluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := c.run(time.Minute, filepath.Join(c.bins, "kwokctl"), "delete", "cluster", "--name", c.name); err != nil {
			t.Logf("kwokctl delete cluster: %v\n%s", err, out)
		}
	})
	if out, err := c.run(time.Minute, filepath.Join(c.bins, "kwokctl"), "--name", c.name, "scale", "node", "--replicas", "2"); err != nil {
		t.Fatalf("kwokctl scale node: %v\n%s", err, out)
	}
	c.kubeconfig = filepath.Join(c.workdir, "clusters", c.name, "kubeconfig.yaml")
	return c
}

func TestEndToEnd(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl("apply", "--server-side", "-f", filepath.Join(c.root, "config", "crd", "bases"))
	c.mustKubectl("wait", "--for", "condition=Established", "--timeout=60s", "-f", filepath.Join(c.root, "config", "crd", "bases"))

	ctx, cancel := context.WithCancel(context.Background())
	mgr := exec.CommandContext(ctx, filepath.Join(c.root, "bin", "manager"), "--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0",
		"--enable-webhooks=false", "--credential-namespaces=growth-marketing")
	mgr.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	var mgrLog bytes.Buffer
	mgr.Stdout, mgr.Stderr = &mgrLog, &mgrLog
	if err := mgr.Start(); err != nil {
		t.Fatalf("starting bin/manager (run `make build`): %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = mgr.Wait()
		if t.Failed() {
			t.Logf("manager log:\n%s", mgrLog.String())
		}
	})

	c.mustKubectl("apply", "-f", filepath.Join(c.root, "config", "samples"))

	t.Run("samples become Ready and Active", func(t *testing.T) {
		c.t = t
		c.mustKubectl("wait", "-n", "growth-marketing", "--for", "condition=Ready", "--timeout=90s", "mw/winter-sale-microsite", "mw/server-side-tags")
		c.eventually(60*time.Second, "pods Running", func() string {
			out, _ := c.kubectl("get", "pods", "-n", "growth-marketing", "-o", "jsonpath={.items[*].status.phase}")
			if strings.Count(out, "Running") < 3 {
				return "pods: " + out
			}
			return ""
		})
		// The simulated nodes run the pods, so the Deployments report Available.
		c.mustKubectl("wait", "-n", "growth-marketing", "--for", "condition=Available", "--timeout=90s", "deploy/winter-sale-microsite", "deploy/server-side-tags")
		out := c.mustKubectl("get", "martech", "-A")
		for _, want := range []string{"winter-sale-microsite", "Active", "https://winter-sale.campaigns.acme.example/", "retargeting-pilot", "restricted", "pinned-image-tags"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get martech -A lacks %q:\n%s", want, out)
			}
		}
		t.Logf("kubectl get martech -A:\n%s", out)
	})

	t.Run("a prohibited vendor blocks its workload and leaves it running", func(t *testing.T) {
		c.t = t
		before := c.mustKubectl("get", "deploy", "-n", "growth-marketing", "winter-sale-microsite", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas}")
		c.mustKubectl("patch", "vendor", "hubspot", "--type", "merge", "-p", `{"spec":{"status":"prohibited"}}`)
		c.mustKubectl("wait", "-n", "growth-marketing", "--for", "jsonpath={.status.phase}=Blocked", "--timeout=60s", "mw/winter-sale-microsite")
		after := c.mustKubectl("get", "deploy", "-n", "growth-marketing", "winter-sale-microsite", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas}")
		if before != after {
			t.Errorf("blocked workload's Deployment changed: %q → %q", before, after)
		}
		c.mustKubectl("patch", "vendor", "hubspot", "--type", "merge", "-p", `{"spec":{"status":"approved"}}`)
		c.mustKubectl("wait", "-n", "growth-marketing", "--for", "jsonpath={.status.phase}=Active", "--timeout=60s", "mw/winter-sale-microsite")
	})

	t.Run("a hand-edited Deployment is put back", func(t *testing.T) {
		c.t = t
		c.mustKubectl("scale", "deploy", "-n", "growth-marketing", "server-side-tags", "--replicas=4")
		c.eventually(60*time.Second, "replicas put back to 1", func() string {
			out, _ := c.kubectl("get", "deploy", "-n", "growth-marketing", "server-side-tags", "-o", "jsonpath={.spec.replicas}")
			if out != "1" {
				return "replicas=" + out
			}
			return ""
		})
	})
}
