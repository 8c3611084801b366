// Command load is `make bench-load`: a concurrent load test in the shape of
// Kyverno's published scaling test (k6 virtual users creating objects
// through the API server), on a real kube-apiserver and etcd (envtest,
// loopback only).
//
// Virtual users (VUs) share a fixed number of iterations, as k6's
// shared-iterations executor does; each iteration creates one
// MarketingWorkload (webhookenv.Workload: the winter-sale sample's shape,
// referencing the samples' two SaaSIntegrations, created once with the
// samples before any timing, so the engine judges three objects per
// create). Each VU has its own client and connection. A cell is one setup ×
// one VU count and stops after -max-creates creates or -max-time, whichever
// comes first; the workloads it created are deleted (untimed) before the
// next. The three setups alternate in rounds (ours, no-op, none, ours, ...):
//
//   - ours: the webhook configurations of config/webhook, served by the
//     real webhooks of internal/webhook with the real engine;
//   - no-op: the same registrations answered by a handler that allows at
//     once, on the same server (the floor of calling a webhook);
//   - none: no webhook configuration.
//
// The webhooks run in a child process (this binary with -serve: a manager
// with the webhooks only, no controllers, as BenchmarkCreate runs them),
// so that its CPU time (utime+stime from /proc) and peak RSS (VmHWM, reset
// before each cell) are the webhooks' alone, not the load generator's.
//
// It prints a line per cell, then a table of the medians over the rounds,
// and fails only when the setup cannot run, never on the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

// loadLabel marks the workloads the load test creates, so that the
// cleanup deletes those and not the samples'.
const loadLabel = "bench-load"

func main() {
	var (
		serveMode bool
		sf        serveFlags
		df        driverFlags
	)
	flag.BoolVar(&serveMode, "serve", false, "run as the webhook process (the driver starts it; not for direct use)")
	sf.bind(flag.CommandLine)
	df.bind(flag.CommandLine)
	flag.Parse()
	var err error
	if serveMode {
		err = serve(sf)
	} else {
		err = drive(df, sf.policyTimeout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-load:", err)
		os.Exit(1)
	}
}

type driverFlags struct {
	root       string
	assets     string
	vus        string
	rounds     int
	maxCreates int
	maxTime    time.Duration
	warmup     int
	deadline   time.Duration
}

func (f *driverFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.root, "root", ".", "the repository's root (config/crd/bases, config/webhook, config/samples)")
	fs.StringVar(&f.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "folder of kube-apiserver and etcd (default $KUBEBUILDER_ASSETS, else ROOT/bin/k8s)")
	fs.StringVar(&f.vus, "vus", "1,10,50", "comma-separated virtual user counts")
	fs.IntVar(&f.rounds, "rounds", 3, "rounds of the three setups, alternating; the table quotes medians over them")
	fs.IntVar(&f.maxCreates, "max-creates", 1000, "creates per cell at most (shared by the cell's VUs)")
	fs.DurationVar(&f.maxTime, "max-time", 4*time.Second, "time per cell at most: no create starts after it")
	fs.IntVar(&f.warmup, "warmup", 20, "untimed creates before each cell (at least one per VU)")
	fs.DurationVar(&f.deadline, "deadline", 10*time.Minute, "the whole run stops (and fails) after this")
}

// cell is one setup × VU count of one round.
type cell struct {
	mode     webhookenv.Mode
	vus      int
	requests int // successful creates
	errors   int
	firstErr error
	elapsed  time.Duration
	lat      []time.Duration // of the successful creates
	// webhook process: CPU time used during the cell, peak RSS during it
	// (peakOK false: the peak since the process started).
	cpu    time.Duration
	rss    int64
	peakOK bool
	// apiCPU is kube-apiserver's and etcd's CPU time during the cell,
	// loadCPU this process's (the VUs' clients).
	apiCPU, loadCPU time.Duration
}

func drive(f driverFlags, policyTimeout time.Duration) error {
	vus, err := parseVUs(f.vus)
	if err != nil {
		return err
	}
	switch {
	case f.rounds < 1:
		return fmt.Errorf("-rounds %d: want at least 1", f.rounds)
	case f.maxCreates < 1:
		return fmt.Errorf("-max-creates %d: want at least 1", f.maxCreates)
	case f.maxTime <= 0:
		return fmt.Errorf("-max-time %s: want a positive duration", f.maxTime)
	case f.warmup < 0:
		return fmt.Errorf("-warmup %d: want 0 or more", f.warmup)
	}
	if f.assets == "" {
		f.assets = filepath.Join(f.root, "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(f.assets, "kube-apiserver")); err != nil {
		return fmt.Errorf("kube-apiserver not found in -assets %s: run `make envtest-bins`", f.assets)
	}
	logf.SetLogger(logr.Discard())
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	ctx, cancelDeadline := context.WithTimeout(ctx, f.deadline)
	defer cancelDeadline()

	fmt.Printf("bench-load: %d CPUs, load average %s (1, 5, 15 min) before starting\n", runtime.NumCPU(), loadAverage())
	api, err := webhookenv.StartAPIServer(f.root, f.assets)
	defer func() {
		if err := api.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-load: stopping the API server:", err)
		}
	}()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	_, kubeconfig, err := api.ManagerConfig()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-load-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a temporary directory: nothing to do if it stays
	kubeconfigPath := filepath.Join(tmp, "manager.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}
	hooks, err := startWebhookProcess(ctx, kubeconfigPath, api.Serving, policyTimeout)
	if hooks != nil {
		defer func() {
			if err := hooks.stop(); err != nil {
				fmt.Fprintln(os.Stderr, "bench-load: stopping the webhook process:", err)
			}
		}()
	}
	if err != nil {
		return err
	}

	scheme := webhookenv.Scheme()
	admin, err := client.New(api.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := webhookenv.ApplySamples(ctx, admin, filepath.Join(f.root, "config", "samples")); err != nil {
		return fmt.Errorf("applying config/samples: %w", err)
	}
	toggle, err := webhookenv.NewToggle(ctx, api.Config, scheme)
	if err != nil {
		return err
	}
	apiPids, err := childrenNamed("kube-apiserver", "etcd")
	if err != nil {
		return err
	}
	clients, err := vuClients(api.Config, slices.Max(vus))
	if err != nil {
		return err
	}
	fmt.Printf("setups ours, no-op, none alternating for %d rounds; VUs %v; each cell at most %d creates or %s, after %d untimed ones; webhook process pid %d\n\n",
		f.rounds, vus, f.maxCreates, f.maxTime, f.warmup, hooks.pid())

	var cells []cell
	var seq atomic.Int64
	for r := range f.rounds {
		for _, mode := range []webhookenv.Mode{webhookenv.Ours, webhookenv.NoOp, webhookenv.Off} {
			if err := toggle.Set(ctx, mode); err != nil {
				return err
			}
			for _, n := range vus {
				c, err := runCell(ctx, clients[:n], mode, f, hooks.pid(), apiPids, &seq)
				if err != nil {
					return fmt.Errorf("round %d, %s, %d VUs: %w", r+1, mode, n, err)
				}
				cells = append(cells, c)
				printCell(r+1, c)
				if err := cleanup(ctx, admin); err != nil {
					return err
				}
			}
		}
	}
	fmt.Printf("\nload average %s (1, 5, 15 min) at the end\n\n", loadAverage())
	printTable(cells, vus, f.rounds)
	return nil
}

func parseVUs(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 500 {
			return nil, fmt.Errorf("-vus %q: %q is not a count from 1 to 500", s, part)
		}
		out = append(out, n)
	}
	return out, nil
}

// vuClients are n clients of envtest's admin, each with its own transport
// and so its own connection, as each k6 VU has.
func vuClients(admin *rest.Config, n int) ([]client.Client, error) {
	scheme := webhookenv.Scheme()
	out := make([]client.Client, n)
	for i := range out {
		cfg := rest.CopyConfig(admin)
		// A config with its own Dial is not shared through client-go's
		// transport cache.
		cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		c, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// runCell warms up, then measures one cell.
func runCell(ctx context.Context, clients []client.Client, mode webhookenv.Mode, f driverFlags, pid int, apiPids []int, seq *atomic.Int64) (cell, error) {
	c := cell{mode: mode, vus: len(clients)}
	if w := max(f.warmup, len(clients)); f.warmup > 0 {
		if _, _, err := createLoop(ctx, clients, w, f.maxTime, seq); err != nil && ctx.Err() == nil {
			return c, fmt.Errorf("warm-up: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return c, err
	}
	c.peakOK = resetPeakRSS(pid) == nil
	cpu0, err := cpuTime(pid)
	if err != nil {
		return c, err
	}
	api0, load0 := sumCPU(apiPids), selfCPU()
	start := time.Now()
	c.lat, c.errors, c.firstErr = createLoop(ctx, clients, f.maxCreates, f.maxTime, seq)
	c.elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return c, err
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return c, err
	}
	c.cpu, c.apiCPU, c.loadCPU = cpu1-cpu0, sumCPU(apiPids)-api0, selfCPU()-load0
	if c.rss, err = peakRSS(pid); err != nil {
		return c, err
	}
	c.requests = len(c.lat)
	return c, nil
}

// selfCPU is this process's user+system CPU time (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sumCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, p := range pids {
		if d, err := cpuTime(p); err == nil {
			sum += d
		}
	}
	return sum
}

// createLoop has the clients (one VU each) share at most limit creates and
// start none after maxTime, and returns the latencies of the successful
// ones, the number of failed ones and the first failure. A warm-up that
// created nothing is an error.
func createLoop(ctx context.Context, clients []client.Client, limit int, maxTime time.Duration, seq *atomic.Int64) ([]time.Duration, int, error) {
	deadline := time.Now().Add(maxTime)
	var (
		claimed  atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		errCount int
		firstErr error
		wg       sync.WaitGroup
	)
	for _, c := range clients {
		wg.Go(func() {
			var mine []time.Duration
			var myErrs int
			var myFirst error
			for claimed.Add(1) <= int64(limit) && time.Now().Before(deadline) && ctx.Err() == nil {
				obj := webhookenv.Workload("load-" + strconv.FormatInt(seq.Add(1), 10))
				obj.Labels = map[string]string{loadLabel: "true"}
				start := time.Now()
				err := c.Create(ctx, obj)
				d := time.Since(start)
				if err != nil {
					myErrs++
					if myFirst == nil {
						myFirst = err
					}
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, mine...)
			errCount += myErrs
			if firstErr == nil {
				firstErr = myFirst
			}
		})
	}
	wg.Wait()
	if len(lat) == 0 && firstErr != nil {
		return nil, errCount, fmt.Errorf("every create failed, the first with: %w", firstErr)
	}
	return lat, errCount, firstErr
}

// cleanup deletes the workloads the load test created and waits until they
// are gone and the webhook process's informers have seen it.
func cleanup(ctx context.Context, c client.Client) error {
	if err := c.DeleteAllOf(ctx, &v1alpha1.MarketingWorkload{},
		client.InNamespace(webhookenv.SamplesNamespace), client.MatchingLabels{loadLabel: "true"}); err != nil {
		return fmt.Errorf("deleting the created workloads: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list v1alpha1.MarketingWorkloadList
		if err := c.List(ctx, &list, client.InNamespace(webhookenv.SamplesNamespace),
			client.MatchingLabels{loadLabel: "true"}, client.Limit(1)); err != nil {
			return err
		}
		if len(list.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the created workloads were not gone 60s after their deletion")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Let the informers of the webhook process take the deletions in
	// before the next cell's CPU time is counted.
	time.Sleep(500 * time.Millisecond)
	return nil
}
