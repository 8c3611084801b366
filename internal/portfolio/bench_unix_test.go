//go:build unix

package portfolio

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// BenchmarkBuild is the portfolio's own share of `guardrails portfolio`:
// Build and the JSON and text writers, given the engine's decisions, on
// 2,000 vendors, 20,000 integrations and 10,000 workloads (a warn result
// on every tenth integration, an audit one on every twentieth vendor), then
// four times that, and a fleet of two clusters holding the 1x objects each.
// cpu-s/op (the process's user+sys time per run, which a busy machine
// does not inflate as it does ns/op) and B/op should grow by about the
// factor of the objects; the engine's evaluation, which the CLI runs
// before Build, is measured apart (docs/cli.md#views-at-scale).
func BenchmarkBuild(b *testing.B) {
	for _, scale := range []int{1, 4} {
		in := benchInput(scale, "")
		b.Run(fmt.Sprintf("vendors=%d", 2000*scale), func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				p, err := Build(in)
				if err != nil {
					b.Fatal(err)
				}
				if err := WriteJSON(io.Discard, p); err != nil {
					b.Fatal(err)
				}
				if err := WriteText(io.Discard, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	parts := []Input{benchInput(1, "prod-eu"), benchInput(1, "prod-us")}
	b.Run("fleet=2x2000", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			p, err := BuildFleet(parts)
			if err != nil {
				b.Fatal(err)
			}
			if err := WriteJSON(io.Discard, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchInput(scale int, cluster string) Input {
	nv, ni, nw := 2000*scale, 20000*scale, 10000*scale
	cats := []string{"crm", "email", "analytics", "cdp", "advertising", "cms", "personalization", "social", "other"}
	in := Input{
		Cluster:              cluster,
		VendorDecisions:      map[string]*policy.Decision{},
		IntegrationDecisions: map[string]*policy.Decision{},
		Sensitive:            func(string) []string { return []string{"user.financial"} },
		Source:               func(string) string { return "cluster" },
		Now:                  now,
	}
	for i := range nv {
		v := vendor(fmt.Sprintf("vendor-%05d", i), cats[i%len(cats)], "approved", fmt.Sprintf("%d.%02d", 1000+i, i%100), []string{"EUR", "USD"}[i%2])
		renews := metav1.NewTime(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%730))
		days := int32(90)
		v.Spec.Contract.RenewsAt, v.Spec.Contract.NoticeDays = &renews, &days
		in.Vendors = append(in.Vendors, v)
		if i%20 == 0 {
			in.VendorDecisions[v.Name] = &policy.Decision{Results: []policy.Result{{Policy: PolicyUnused, Enforcement: "audit", Message: "unused"}}}
		}
	}
	for i := range ni {
		si := integration(fmt.Sprintf("ns-%03d", (i/2)%(ni/400)), fmt.Sprintf("integration-%06d", i), fmt.Sprintf("vendor-%05d", i%nv),
			[]string{"growth", "brand", "lifecycle"}[i%3], fmt.Sprintf("MKT-%d", 4000+i%40), "user.contact.email", "user.financial.bank_account")
		in.Integrations = append(in.Integrations, si)
		if i%10 == 0 {
			in.IntegrationDecisions[si.Namespace+"/"+si.Name] = &policy.Decision{Results: []policy.Result{{Policy: PolicyOverlap, Enforcement: "warn", Message: "overlap"}}}
		}
	}
	for j := range nw {
		mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%03d", j%(ni/400)), Name: fmt.Sprintf("site-%06d", j)}}
		mw.Spec.Integrations = []v1alpha1.IntegrationRef{{Name: fmt.Sprintf("integration-%06d", 2*j)}, {Name: fmt.Sprintf("integration-%06d", 2*j+1)}}
		in.Workloads = append(in.Workloads, mw)
	}
	return in
}

// reportCPU reports the process's CPU time per iteration when the
// returned function is called.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
