// Command views times `guardrails portfolio` and `guardrails agenda` on a
// large organisation's portfolio from files (corpus.WriteViews: 2,000
// Vendors, 20,000 SaaSIntegrations and 10,000 MarketingWorkloads at scale
// 1) and at larger scales, to show how wall time and peak memory grow:
//
//	go build -o bin/guardrails ./cmd/guardrails
//	go run ./test/bench/views -guardrails bin/guardrails -scales 1,4 -runs 2
//
// Each command runs -runs times per scale as a child process; the table
// has each run's wall time, CPU time (user+sys) and peak RSS (the child's
// rusage), then the ratio of the largest scale's medians to the smallest's
// beside the ratio of the sizes. It prints figures and never fails on
// them; it fails when a command exits non-zero or prints nothing.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/martech-guardrails/guardrails/test/bench/corpus"
)

// now is the --now of every run, so the deadlines judge the same every day.
const now = "2026-12-01T00:00:00Z"

func main() {
	var (
		guardrails = flag.String("guardrails", "bin/guardrails", "the guardrails binary")
		samples    = flag.String("samples", "config/samples", "the samples (the PlatformStandard)")
		scales     = flag.String("scales", "1,4", "comma-separated multiples of 2,000 vendors, 20,000 integrations, 10,000 workloads")
		runs       = flag.Int("runs", 2, "runs of each command at each scale")
		keep       = flag.String("dir", "", "write the corpora here and keep them (default: a temporary folder, removed)")
	)
	flag.Parse()
	if err := run(*guardrails, *samples, *scales, *runs, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-views:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall, cpu time.Duration
	rss       int64 // bytes
}

func run(guardrails, samples, scaleList string, runs int, keep string) error {
	var scales []int
	for _, s := range strings.Split(scaleList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-scales: %q is not a positive integer", s)
		}
		scales = append(scales, n)
	}
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bench-views-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	}
	commands := []struct {
		name string
		args []string
	}{
		{"portfolio", []string{"portfolio", "-o", "json"}},
		{"agenda", []string{"agenda", "-o", "json", "--within", "365d"}},
	}
	got := map[string]map[int][]sample{}
	// One line per run as it ends (a 4x run takes minutes), in fixed columns.
	const row = "%-10s %5s %8s %13s %10s %4s %8s %8s %13s %11s\n"
	fmt.Printf(row, "command", "scale", "vendors", "integrations", "workloads", "run", "wall s", "CPU s", "peak RSS MiB", "output KiB")
	for _, scale := range scales {
		v := corpus.ViewsAt(scale)
		root := filepath.Join(dir, fmt.Sprintf("x%d", scale))
		if err := corpus.WriteViews(root, samples, v); err != nil {
			return err
		}
		for _, c := range commands {
			if got[c.name] == nil {
				got[c.name] = map[int][]sample{}
			}
			for r := 1; r <= runs; r++ {
				args := append(append([]string{}, c.args...), "-f", filepath.Join(root, "catalogue"), "-f", filepath.Join(root, "manifests"), "--now", now)
				s, out, err := once(guardrails, args)
				if err != nil {
					return err
				}
				got[c.name][scale] = append(got[c.name][scale], s)
				fmt.Printf(row, c.name, fmt.Sprintf("%dx", scale), fmt.Sprint(v.Vendors), fmt.Sprint(v.Integrations), fmt.Sprint(v.Workloads), fmt.Sprint(r),
					fmt.Sprintf("%.2f", s.wall.Seconds()), fmt.Sprintf("%.2f", s.cpu.Seconds()), fmt.Sprintf("%.0f", float64(s.rss)/(1<<20)), fmt.Sprint(out/1024))
			}
		}
	}
	if len(scales) > 1 {
		lo, hi := slices.Min(scales), slices.Max(scales)
		fmt.Println()
		for _, c := range commands {
			a, b := median(got[c.name][lo]), median(got[c.name][hi])
			fmt.Printf("%s: %dx the size: wall x%.2f, CPU x%.2f, peak RSS x%.2f (medians)\n", c.name, hi/lo,
				b.wall.Seconds()/a.wall.Seconds(), b.cpu.Seconds()/a.cpu.Seconds(), float64(b.rss)/float64(a.rss))
		}
	}
	return nil
}

// once runs guardrails args and returns its wall time, CPU time and peak
// RSS, and the size of what it printed.
func once(guardrails string, args []string) (sample, int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(guardrails, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil || stdout.Len() == 0 {
		if err == nil {
			err = errors.New("no output")
		}
		return sample{}, 0, fmt.Errorf("guardrails %s: %w (%d bytes out)\n%s", strings.Join(args, " "), err, stdout.Len(), stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, 0, fmt.Errorf("no rusage on this platform")
	}
	return sample{wall: wall, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), rss: ru.Maxrss * 1024}, stdout.Len(), nil
}

// median is the sample of median wall time, CPU time and peak RSS, each
// taken on its own.
func median(s []sample) sample {
	walls, cpus, rss := make([]time.Duration, len(s)), make([]time.Duration, len(s)), make([]int64, len(s))
	for i, x := range s {
		walls[i], cpus[i], rss[i] = x.wall, x.cpu, x.rss
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	slices.Sort(rss)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return sample{walls[m], cpus[m], rss[m]}
	}
	return sample{(walls[m-1] + walls[m]) / 2, (cpus[m-1] + cpus[m]) / 2, (rss[m-1] + rss[m]) / 2}
}
