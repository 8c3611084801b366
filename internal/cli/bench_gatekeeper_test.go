package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gatekeeperBenchArgs writes the inputs of BenchmarkCheckGatekeeper to dir
// and returns check's arguments: workloads exposed workloads (site-<i>),
// each rendering an Ingress, and inventory Ingresses of other hosts
// (other-<i>), plus extra inventory documents, judged by the
// unique-ingress-host template (test/gatekeeper-suites), which reads
// data.inventory.
func gatekeeperBenchArgs(tb testing.TB, dir string, workloads, inventory int, extra string) []string {
	tb.Helper()
	var mw, ing strings.Builder
	for i := range workloads {
		fmt.Fprintf(&mw, `apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata: {name: site-%d, namespace: growth-marketing}
spec:
  owner: {team: growth, contact: growth-team@acme.example}
  costCenter: MKT-4100
  image: ghcr.io/acme-marketing/site:1.0.0
  replicas: 1
  exposure: {host: site-%d.acme.example}
---
`, i, i)
	}
	for i := range inventory {
		fmt.Fprintf(&ing, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other-%d, namespace: web}
spec:
  rules: [{host: other-%d.acme.example}]
---
`, i, i)
	}
	ing.WriteString(extra)
	for name, content := range map[string]string{"workloads.yaml": mw.String(), "ingresses.yaml": ing.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return []string{"check", "--now", testNow, "--standard", catalogue + "/standard.yaml", "--vendors", catalogue,
		"-f", gatorSuites + "/unique-ingress-host/template.yaml", "-f", gatorSuites + "/unique-ingress-host/constraint.yaml",
		"-f", filepath.Join(dir, "workloads.yaml"), "-f", filepath.Join(dir, "ingresses.yaml"), "-o", "json"}
}

// TestGatekeeperBenchInputs holds the benchmark's inputs to what it claims
// to time, in every `go test` run: the template reads the inventory (an
// inventory Ingress on a workload's host denies that workload, and only
// it), and without such a clash the run is clean.
func TestGatekeeperBenchInputs(t *testing.T) {
	clean := runCLI(t, nil, gatekeeperBenchArgs(t, t.TempDir(), 5, 20, "")...)
	if clean.code != ExitOK {
		t.Fatalf("no host served twice: %s", clean)
	}
	clash := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: squatter, namespace: web}\nspec:\n  rules: [{host: site-3.acme.example}]\n"
	r := runCLI(t, nil, gatekeeperBenchArgs(t, t.TempDir(), 5, 20, clash)...)
	if r.code != ExitDenied {
		t.Fatalf("site-3's host is in the inventory: want exit %d, got %s", ExitDenied, r)
	}
	want := "one-ingress-per-host (Ingress/site-3)"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "host site-3.acme.example is already served by Ingress web/squatter") {
		t.Fatalf("want %q with the squatter named:\n%s", want, r.stdout)
	}
	if strings.Contains(r.stdout, "one-ingress-per-host (Ingress/site-2)") {
		t.Fatalf("site-2's host is served once:\n%s", r.stdout)
	}
}

// BenchmarkCheckGatekeeper is check with a Gatekeeper template that reads
// data.inventory (test/gatekeeper-suites/unique-ingress-host): exposed
// workloads, each rendering an Ingress, among inventory Ingresses of other
// hosts. It reports workloads/s and seconds per run for an inventory of 0
// and of many objects, so that the cost of the inventory shows side by
// side:
//
//	go test ./internal/cli -run '^$' -bench CheckGatekeeper -count 2
func BenchmarkCheckGatekeeper(b *testing.B) {
	const workloads = 200
	for _, inventory := range []int{0, 2000} {
		b.Run(fmt.Sprintf("workloads=%d/inventory=%d", workloads, inventory), func(b *testing.B) {
			args := gatekeeperBenchArgs(b, b.TempDir(), workloads, inventory, "")
			var elapsed time.Duration
			runs := 0
			for b.Loop() {
				start := time.Now()
				code := Main(args, nil, io.Discard, io.Discard)
				elapsed += time.Since(start)
				runs++
				if code != ExitOK {
					b.Fatalf("exit %d", code)
				}
			}
			perRun := elapsed / time.Duration(runs)
			b.ReportMetric(float64(workloads)/perRun.Seconds(), "workloads/s")
			b.ReportMetric(perRun.Seconds(), "seconds")
		})
	}
}
