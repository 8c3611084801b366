// Command peers is `make bench-peers`: guardrails check side by side with
// conftest and Gatekeeper's gator on the same documents and the same rule.
//
// It generates 5,000 MarketingWorkloads (50 files of 100, corpus.WritePeers),
// runs the sample pinned-image-tags rule in the three tools (this folder's
// guardrailpolicy.yaml with standard.yaml disabling the built-ins that judge
// workloads, conftest.rego, gator-template.yaml), checks that all three deny
// the same 2,000 documents, then runs them alternately, A B C A B C, for
// -rounds rounds, and prints for each tool the median wall time, the median
// CPU time (user+sys of the child, from its rusage) and the median peak RSS,
// and the ratios of ours to the best peer. A fourth column runs guardrails on
// BenchmarkCheck's corpus (integrations, vendors, every built-in on) for our
// own figure. With -baseline, a second guardrails binary (main's, say) runs
// the same two corpora in every round too, so that before and after
// alternate with the peers, and the ratios of ours to it are printed. It
// prints figures and never fails on them; it fails only when a tool cannot
// run or the tools disagree on what is denied.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/martech-guardrails/guardrails/test/bench/corpus"
)

// checkNow is the --now of every guardrails run, so campaign windows and
// expiries judge the same on every day.
const checkNow = "2026-12-01T00:00:00Z"

func main() {
	var (
		guardrails = flag.String("guardrails", "bin/guardrails", "the guardrails binary")
		baseline   = flag.String("baseline", "", "another guardrails `binary` to run alternately with the first, for before and after figures (default: none)")
		conftest   = flag.String("conftest", "bin/peers/conftest", "the conftest binary")
		gator      = flag.String("gator", "bin/peers/gator", "the gator binary")
		policies   = flag.String("policies", "test/bench/peers", "the folder of the three policy files")
		samples    = flag.String("samples", "config/samples", "the samples (Vendors, PlatformStandard) for the built-ins corpus")
		docs       = flag.Int("docs", 5000, "MarketingWorkloads in the peer corpus")
		fullDocs   = flag.Int("full-docs", 2000, "documents in the built-ins corpus (half integrations, half workloads)")
		rounds     = flag.Int("rounds", 5, "rounds of A B C (at least 5 for a median worth quoting)")
	)
	flag.Parse()
	if err := run(*guardrails, *baseline, *conftest, *gator, *policies, *samples, *docs, *fullDocs, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

// tool is one command line the benchmark times, and how to count the
// documents it denied from its output.
type tool struct {
	name   string
	args   []string
	docs   int
	denied func(stdout []byte) (int, error)
	// runs, one per round
	wall, cpu []time.Duration
	rss       []int64 // bytes
}

func run(guardrails, baseline, conftest, gator, policies, samples string, docs, fullDocs, rounds int) error {
	work, err := os.MkdirTemp("", "bench-peers-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }() // a temporary directory: nothing to do if it stays
	peerDir := filepath.Join(work, "peers")
	files, err := corpus.WritePeers(peerDir, docs)
	if err != nil {
		return err
	}
	fullDir := filepath.Join(work, "full")
	if _, err := corpus.Write(fullDir, samples, fullDocs); err != nil {
		return err
	}
	want := 0
	for i := range docs {
		if corpus.PeerDenied(i) {
			want++
		}
	}
	fmt.Printf("peer corpus: %d MarketingWorkloads in %d files, %d with an unpinned image tag; built-ins corpus: %d documents\n",
		docs, files, want, fullDocs)

	peerCheck := func(name, bin string) *tool {
		return &tool{name: name, docs: docs, denied: guardrailsDenied, args: []string{bin, "check",
			"-f", peerDir, "--policies", filepath.Join(policies, "guardrailpolicy.yaml"),
			"--standard", filepath.Join(policies, "standard.yaml"), "-o", "json", "--now", checkNow}}
	}
	fullCheck := func(name, bin string) *tool {
		return &tool{name: name, docs: fullDocs, args: []string{bin, "check",
			"-f", filepath.Join(fullDir, "manifests"), "--vendors", filepath.Join(fullDir, "catalogue"), "-o", "json", "--now", checkNow}}
	}
	tools := []*tool{
		peerCheck("guardrails check", guardrails),
		{name: "conftest test", docs: docs, denied: conftestDenied, args: []string{conftest, "test",
			"--no-color", "-o", "json", "-p", filepath.Join(policies, "conftest.rego"), peerDir}},
		{name: "gator test", docs: docs, denied: gatorDenied, args: []string{gator, "test",
			"-o", "json", "-f", filepath.Join(policies, "gator-template.yaml"), "-f", peerDir}},
		fullCheck("guardrails check (built-ins corpus)", guardrails),
	}
	if baseline != "" {
		tools = append(tools, peerCheck("baseline check", baseline),
			fullCheck("baseline check (built-ins corpus)", baseline))
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.args[0]); err != nil {
			return fmt.Errorf("%s: %w (make bench-peers builds it)", t.name, err)
		}
	}

	for r := range rounds {
		for _, t := range tools {
			out, err := t.once()
			if err != nil {
				return err
			}
			if r == 0 && t.denied != nil {
				n, err := t.denied(out)
				if err != nil {
					return fmt.Errorf("%s: reading its output: %w", t.name, err)
				}
				if n != want {
					return fmt.Errorf("%s denied %d documents, want %d: the tools do not judge alike, the figures would not compare", t.name, n, want)
				}
				fmt.Printf("%-20s denied %d of %d documents\n", t.name, n, docs)
			}
		}
	}

	fmt.Printf("\n%d rounds, alternating; medians:\n\n", rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\twall s\tCPU s\tpeak RSS MiB\tdocs/s (wall)\t")
	for _, t := range tools {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.0f\t%.0f\t\n", t.name, median(t.wall).Seconds(), median(t.cpu).Seconds(),
			float64(medianInt(t.rss))/(1<<20), float64(t.docs)/median(t.wall).Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ours, peers := tools[0], tools[1:3]
	best := func(f func(*tool) float64) (string, float64) {
		name, v := peers[0].name, f(peers[0])
		for _, p := range peers[1:] {
			if f(p) < v {
				name, v = p.name, f(p)
			}
		}
		return name, v
	}
	fmt.Println()
	for _, m := range []struct {
		what string
		f    func(*tool) float64
		goal string
	}{
		{"CPU", func(t *tool) float64 { return median(t.cpu).Seconds() }, "goal <= 0.5"},
		{"wall", func(t *tool) float64 { return median(t.wall).Seconds() }, "goal <= 0.5"},
		{"peak RSS", func(t *tool) float64 { return float64(medianInt(t.rss)) }, "goal <= 1"},
	} {
		name, v := best(m.f)
		fmt.Printf("%-9s guardrails / best peer (%s): %.2f (%s)\n", m.what, name, m.f(ours)/v, m.goal)
		if baseline != "" {
			fmt.Printf("%-9s guardrails / baseline: %.2f (peer corpus), %.2f (built-ins corpus)\n", m.what,
				m.f(ours)/m.f(tools[4]), m.f(tools[3])/m.f(tools[5]))
		}
	}
	return nil
}

// once runs the tool and records its wall time, CPU time and peak RSS. A
// tool exits 1 when it denied something, which these corpora always have.
func (t *tool) once() ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(t.args[0], t.args[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(t.args, " "), err, firstLines(stderr.String(), 20))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, fmt.Errorf("%s: no rusage on this platform", t.name)
	}
	t.wall = append(t.wall, wall)
	t.cpu = append(t.cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()))
	t.rss = append(t.rss, ru.Maxrss*1024) // kilobytes on Linux
	return stdout.Bytes(), nil
}

// guardrailsDenied counts the objects with a deny result in a JSON report.
func guardrailsDenied(out []byte) (int, error) {
	var report struct {
		Summary struct{ Deny int } `json:"summary"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		return 0, err
	}
	return report.Summary.Deny, nil
}

// conftestDenied counts the failures in conftest's JSON output: one per
// denied document, as each document is its own input.
func conftestDenied(out []byte) (int, error) {
	var results []struct {
		Failures []json.RawMessage `json:"failures"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range results {
		n += len(r.Failures)
	}
	return n, nil
}

// gatorDenied counts the violations in gator test's JSON output.
func gatorDenied(out []byte) (int, error) {
	var results []json.RawMessage
	if err := json.Unmarshal(out, &results); err != nil {
		return 0, err
	}
	return len(results), nil
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}
