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

// BenchmarkCheckGatekeeper is check with a Gatekeeper template that reads
// data.inventory (test/gatekeeper-suites/unique-ingress-host): exposed
// workloads, each rendering an Ingress, among inventory Ingresses of other
// hosts. It reports workloads/s and seconds per run for an inventory of 0
// and of many objects, so that the cost of the inventory (converted for
// every workload judged) shows side by side:
//
//	go test ./internal/cli -run '^$' -bench CheckGatekeeper -count 2
func BenchmarkCheckGatekeeper(b *testing.B) {
	const workloads = 200
	for _, inventory := range []int{0, 2000} {
		b.Run(fmt.Sprintf("workloads=%d/inventory=%d", workloads, inventory), func(b *testing.B) {
			dir := b.TempDir()
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
			for name, content := range map[string]string{"workloads.yaml": mw.String(), "ingresses.yaml": ing.String()} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			args := []string{"check", "--now", testNow, "--standard", catalogue + "/standard.yaml", "--vendors", catalogue,
				"-f", gatorSuites + "/unique-ingress-host/template.yaml", "-f", gatorSuites + "/unique-ingress-host/constraint.yaml",
				"-f", filepath.Join(dir, "workloads.yaml"), "-f", filepath.Join(dir, "ingresses.yaml"), "-o", "json"}
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
