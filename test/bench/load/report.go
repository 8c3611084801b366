package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// percentile is the nearest-rank p-th percentile of ds (as BenchmarkCreate
// computes it).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// figures are one cell's numbers, as the table shows them.
type figures struct {
	requests, rps, avg, p50, p95, p99, cpu, cpuPerReq, rss, apiCPU, loadCPU float64
}

func (c cell) figures() figures {
	f := figures{
		requests: float64(c.requests),
		rps:      float64(c.requests) / c.elapsed.Seconds(),
		avg:      ms(mean(c.lat)),
		p50:      ms(percentile(c.lat, 50)),
		p95:      ms(percentile(c.lat, 95)),
		p99:      ms(percentile(c.lat, 99)),
		cpu:      c.cpu.Seconds(),
		rss:      mib(c.rss),
		apiCPU:   c.apiCPU.Seconds(),
		loadCPU:  c.loadCPU.Seconds(),
	}
	if c.requests > 0 {
		f.cpuPerReq = ms(c.cpu) / float64(c.requests)
	}
	return f
}

func printCell(round int, c cell) {
	f := c.figures()
	fmt.Printf("round %d %-5s %3d VUs: %5d creates in %5.2fs = %6.1f/s; avg %6.2f p50 %6.2f p95 %6.2f p99 %7.2f ms; %d errors; webhook process CPU %.2fs, peak RSS %.0f MiB; kube-apiserver+etcd CPU %.2fs; load generator CPU %.2fs\n",
		round, c.mode, c.vus, c.requests, c.elapsed.Seconds(), f.rps, f.avg, f.p50, f.p95, f.p99, c.errors, f.cpu, f.rss, f.apiCPU, f.loadCPU)
	if c.firstErr != nil {
		fmt.Fprintf(os.Stderr, "  first error: %v\n", c.firstErr)
	}
}

// printTable prints, per setup and VU count, the median of each figure
// over the rounds (errors summed), as a Markdown table, then the ratios of
// ours to the no-op floor and to no webhook.
func printTable(cells []cell, vus []int, rounds int) {
	modes := []webhookenv.Mode{webhookenv.Ours, webhookenv.NoOp, webhookenv.Off}
	type key struct {
		mode webhookenv.Mode
		vus  int
	}
	med := map[key]figures{}
	errs := map[key]int{}
	lifetimePeak := false
	for _, m := range modes {
		for _, n := range vus {
			var all []figures
			for _, c := range cells {
				if c.mode == m && c.vus == n {
					all = append(all, c.figures())
					errs[key{m, n}] += c.errors
					lifetimePeak = lifetimePeak || !c.peakOK
				}
			}
			pick := func(f func(figures) float64) float64 {
				xs := make([]float64, len(all))
				for i, x := range all {
					xs[i] = f(x)
				}
				return median(xs)
			}
			med[key{m, n}] = figures{
				requests:  pick(func(f figures) float64 { return f.requests }),
				rps:       pick(func(f figures) float64 { return f.rps }),
				avg:       pick(func(f figures) float64 { return f.avg }),
				p50:       pick(func(f figures) float64 { return f.p50 }),
				p95:       pick(func(f figures) float64 { return f.p95 }),
				p99:       pick(func(f figures) float64 { return f.p99 }),
				cpu:       pick(func(f figures) float64 { return f.cpu }),
				cpuPerReq: pick(func(f figures) float64 { return f.cpuPerReq }),
				rss:       pick(func(f figures) float64 { return f.rss }),
				apiCPU:    pick(func(f figures) float64 { return f.apiCPU }),
				loadCPU:   pick(func(f figures) float64 { return f.loadCPU }),
			}
		}
	}
	fmt.Printf("Medians over %d rounds (errors: total over the rounds). Webhook process: a manager serving our webhooks and the no-op handler, no controllers; its CPU is utime+stime during the cell, its peak RSS is VmHWM during the cell%s.\n\n",
		rounds, map[bool]string{true: " (NOT reset per cell here: the peak since it started)", false: ""}[lifetimePeak])
	fmt.Println("| setup | VUs | creates | creates/s | avg ms | p50 ms | p95 ms | p99 ms | errors | webhook CPU s | webhook CPU ms/create | webhook peak RSS MiB | kube-apiserver+etcd CPU s | load generator CPU s |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range modes {
		for _, n := range vus {
			f := med[key{m, n}]
			fmt.Printf("| %s | %d | %.0f | %.1f | %.2f | %.2f | %.2f | %.2f | %d | %.2f | %.2f | %.0f | %.2f | %.2f |\n",
				m, n, f.requests, f.rps, f.avg, f.p50, f.p95, f.p99, errs[key{m, n}], f.cpu, f.cpuPerReq, f.rss, f.apiCPU, f.loadCPU)
		}
	}
	fmt.Println()
	var lines []string
	for _, n := range vus {
		o, z, x := med[key{webhookenv.Ours, n}], med[key{webhookenv.NoOp, n}], med[key{webhookenv.Off, n}]
		lines = append(lines, fmt.Sprintf("%d VUs: ours ÷ no-op p50 %.2fx, p95 %.2fx; ours ÷ none p50 %.2fx; throughput ours ÷ no-op %.2fx, ours ÷ none %.2fx",
			n, o.p50/z.p50, o.p95/z.p95, o.p50/x.p50, o.rps/z.rps, o.rps/x.rps))
	}
	fmt.Println(strings.Join(lines, "\n"))
}
