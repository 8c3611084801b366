package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// benchNEnv sets how many workloads BenchmarkConverge creates.
const benchNEnv = "GUARDRAILS_BENCH_N"

// BenchmarkConverge measures the operator end to end on envtest: N
// MarketingWorkloads (owner, cost centre, a ghcr.io/acme-marketing image, no
// integrations, no campaign: five children each) created through an uncached
// client, until every one is Ready at its generation.
//
// It starts its own envtest and manager (startEnv): Go runs Benchmark
// functions after Test functions, so the Ginkgo suite's AfterSuite has
// already stopped its environment, and `make bench` (-run '^$') never starts
// it at all.
//
// One measurement per invocation: the body of the b.Loop loop does the work
// on its first iteration only; a run of any useful size outlasts the default
// -benchtime so b.Loop stops after one iteration anyway. Run it alone with
//
//	GUARDRAILS_BENCH_N=200 go test ./controllers/ -run '^$' -bench BenchmarkConverge -benchtime 1x
//
// ns/op is suppressed (it would be converge + plain + the no-op iterations);
// B/op and allocs/op cover the whole process (manager and test clients).
//
// Figures:
//   - converge-s: first Create to the last workload Ready, polled every 250ms.
//   - plain-s: the same children (render.Render with the sample
//     PlatformStandard) created one by one by a plain client, no operator.
//   - ratio: converge-s / plain-s.
//   - writes/workload: POST, PUT, PATCH and DELETE requests the process sent
//     (controller-runtime's rest_client_requests_total) from the first Create
//     until the counter stops moving, less the N Creates the benchmark sent
//     itself, divided by N. The manager and the benchmark's client are the
//     only clients in the process, so the rest is the manager: child applies
//     (a no-op server-side apply is still a PATCH), status updates and Events.
//   - steady-writes: writes in the 3 s after that, with nothing changing.
//   - peak-heap-MiB: the largest runtime HeapInuse sampled every 100ms from
//     the first Create until the writes stop. The manager runs in the test
//     process, so this includes the benchmark's clients and their List polls
//     (paged, 500 workloads a page), and garbage not yet collected.
//   - live-heap-MiB: HeapAlloc after two forced GCs once the writes stop:
//     what the manager holds (its cache above all) with N workloads.
//   - ms/workload: converge-s per workload, to compare N=1,000 and 10,000.
func BenchmarkConverge(b *testing.B) {
	n := benchN(b)
	env := startEnv(b)
	defer env.stop(b)

	var conv convergeResult
	var plain time.Duration
	measured := false
	for b.Loop() {
		if measured {
			continue
		}
		measured = true
		conv = env.converge(b, n)
		plain = env.plain(b, n)
	}

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(conv.elapsed.Seconds(), "converge-s")
	b.ReportMetric(plain.Seconds(), "plain-s")
	b.ReportMetric(conv.elapsed.Seconds()/plain.Seconds(), "ratio")
	b.ReportMetric(float64(conv.writes)/float64(n), "writes/workload")
	b.ReportMetric(float64(conv.steadyWrites), "steady-writes")
	b.ReportMetric(float64(conv.peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(conv.liveHeap)/(1<<20), "live-heap-MiB")
	b.ReportMetric(conv.elapsed.Seconds()*1000/float64(n), "ms/workload")
	b.Logf("N=%d: all Ready after %s, manager writes then %d %v; quiet after %s, manager writes then %d %v; in the 3 s after %v",
		n, conv.elapsed.Round(time.Millisecond), conv.writesAtReady, conv.byMethodAtReady,
		conv.quiet.Round(time.Millisecond), conv.writes, conv.byMethod, conv.steadyByMethod)
}

func benchN(b *testing.B) int {
	s := os.Getenv(benchNEnv)
	if s == "" {
		return 1000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", benchNEnv, s)
	}
	return n
}

// benchEnv is an envtest API server with the manager running every
// controller, and an uncached client for the benchmark's own reads and writes.
type benchEnv struct {
	testEnv  *envtest.Environment
	cfg      *rest.Config
	scheme   *k8sruntime.Scheme
	client   client.Client
	standard *v1alpha1.PlatformStandard
	cancel   context.CancelFunc
	done     chan error
}

// startEnv starts envtest, creates the sample PlatformStandard, and starts
// the manager with every controller, as the suite's BeforeSuite does but
// without Ginkgo and without touching the suite's globals.
func startEnv(b *testing.B) *benchEnv {
	b.Helper()
	env := startAPIServer(b)
	env.startManager(b, controllers.CacheOptions(nil))
	return env
}

// startAPIServer starts envtest with the CRDs, makes the benchmark's
// uncached client and creates the sample PlatformStandard; no manager.
func startAPIServer(b *testing.B) *benchEnv {
	b.Helper()
	logf.SetLogger(logr.Discard())
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		b.Skipf("kube-apiserver not found in %s: run `make envtest-bins`", assets)
	}
	sch := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(sch))
	utilruntime.Must(v1alpha1.AddToScheme(sch))

	env := &benchEnv{
		testEnv: &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets,
		},
		scheme: sch,
	}
	// envtest's default 10.0.0.0/24 runs out of ClusterIPs after 254
	// Services; each workload has one, and the plain run makes as many again.
	env.testEnv.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	restCfg, err := env.testEnv.Start()
	if err != nil {
		b.Fatalf("starting envtest: %v", err)
	}
	env.cfg = restCfg
	if env.client, err = client.New(restCfg, client.Options{Scheme: sch}); err != nil {
		env.stop(b)
		b.Fatal(err)
	}
	env.standard = sampleStandard(b)
	if err := env.client.Create(context.Background(), env.standard.DeepCopy()); err != nil {
		env.stop(b)
		b.Fatalf("creating the sample PlatformStandard: %v", err)
	}
	return env
}

// startManager starts a manager with every controller and the given cache
// options, and waits until its cache has synced.
func (e *benchEnv) startManager(b *testing.B, cacheOpts cache.Options) ctrl.Manager {
	b.Helper()
	mgr, err := ctrl.NewManager(rest.CopyConfig(e.cfg), ctrl.Options{
		Scheme:                 e.scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The suite's manager may have registered the same controller names
		// earlier in this process (go test -bench . without -run).
		Controller: crconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      cacheOpts,
	})
	if err != nil {
		e.stop(b)
		b.Fatal(err)
	}
	engine, err := policy.New(policy.Options{Timeout: 10 * time.Second})
	if err != nil {
		e.stop(b)
		b.Fatal(err)
	}
	if err := controllers.SetupAll(mgr, controllers.Options{Engine: engine}); err != nil {
		e.stop(b)
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		e.stop(b)
		b.Fatal("manager cache did not sync")
	}
	return mgr
}

// stopManager stops the manager, leaving the API server running.
func (e *benchEnv) stopManager(b *testing.B) {
	b.Helper()
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			b.Errorf("manager: %v", err)
		}
	case <-time.After(time.Minute):
		b.Error("manager did not stop within a minute")
	}
	e.cancel = nil
}

// stop stops the manager, then the API server and etcd.
func (e *benchEnv) stop(b *testing.B) {
	b.Helper()
	e.stopManager(b)
	if err := e.testEnv.Stop(); err != nil {
		b.Errorf("stopping envtest: %v", err)
	}
}

// sampleStandard reads config/samples/01_platformstandard.yaml.
func sampleStandard(b *testing.B) *v1alpha1.PlatformStandard {
	b.Helper()
	f, err := os.Open(filepath.Join("..", "config", "samples", "01_platformstandard.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var std v1alpha1.PlatformStandard
	if err := utilyaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&std); err != nil {
		b.Fatalf("decoding the sample PlatformStandard: %v", err)
	}
	return &std
}

// benchWorkload is workload i of a run: Active at once (no campaign), one
// replica, not exposed, no integrations.
func benchWorkload(namespace string, i int) *v1alpha1.MarketingWorkload {
	return &v1alpha1.MarketingWorkload{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("site-%05d", i)},
		Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
			CostCenter: "MKT-4100",
			Image:      "ghcr.io/acme-marketing/bench-site:1.0.0",
			Replicas:   ptr.To[int32](1),
		},
	}
}

func (e *benchEnv) namespace(b *testing.B, prefix string) string {
	b.Helper()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"martech.guardrails.dev/managed": "true"}}}
	if err := e.client.Create(context.Background(), ns); err != nil {
		b.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

type convergeResult struct {
	elapsed, quiet  time.Duration
	writesAtReady   int
	writes          int
	steadyWrites    int
	byMethodAtReady writeCounts
	byMethod        writeCounts
	steadyByMethod  writeCounts
	peakHeap        uint64
	liveHeap        uint64
}

// converge creates n workloads in a fresh namespace and waits until all are
// Ready (polled every 250 ms per thousand workloads), then until the manager
// stops writing, then 3 s more.
func (e *benchEnv) converge(b *testing.B, n int) convergeResult {
	b.Helper()
	ctx := context.Background()
	ns := e.namespace(b, "bench-converge")
	defer func() {
		// Cleanup only: a failure (at N=10,000 the one DELETE outlived the
		// HTTP/2 stream on a loaded machine) must not discard the figures.
		if err := e.client.DeleteAllOf(ctx, &v1alpha1.MarketingWorkload{}, client.InNamespace(ns)); err != nil {
			b.Logf("deleting the workloads of %s: %v", ns, err)
		}
	}()

	heap := startHeapSampler(100 * time.Millisecond)
	defer heap.stop()
	before := writeRequests(b)
	start := time.Now()
	for i := range n {
		if err := e.client.Create(ctx, benchWorkload(ns, i)); err != nil {
			b.Fatalf("creating workload %d: %v", i, err)
		}
	}
	timeout := 2*time.Minute + time.Duration(n)*500*time.Millisecond
	// Each poll lists every workload from the API server: every 250 ms per
	// thousand, so that the polls cost the API server and this process the
	// same share at any N (a fixed 250 ms would make the benchmark's own
	// reads quadratic in N).
	poll := 250 * time.Millisecond * time.Duration(max(1, n/1000))
	for ready := 0; ready < n; {
		if time.Since(start) > timeout {
			b.Fatalf("%d of %d workloads Ready after %s", ready, n, timeout)
		}
		time.Sleep(poll)
		var err error
		if ready, err = e.readyCount(ctx, ns); err != nil {
			b.Fatal(err)
		}
	}
	res := convergeResult{elapsed: time.Since(start)}
	atReady := writeRequests(b)
	// Our own writes since before: the n Creates.
	res.byMethodAtReady = atReady.minus(before)
	res.byMethodAtReady["POST"] -= n
	res.writesAtReady = sum(res.byMethodAtReady)

	// The queue may still hold the re-reconciles the last child applies
	// caused; wait for the write counter to hold still for a second.
	quiet := atReady
	for still := 0; still < 2 && time.Since(start) < timeout; {
		time.Sleep(500 * time.Millisecond)
		now := writeRequests(b)
		if sum(now.minus(quiet)) == 0 {
			still++
		} else {
			still = 0
		}
		quiet = now
	}
	res.quiet = time.Since(start)
	res.peakHeap = heap.stop()
	res.liveHeap = liveHeap()
	res.byMethod = quiet.minus(before)
	res.byMethod["POST"] -= n
	res.writes = sum(res.byMethod)

	time.Sleep(3 * time.Second)
	res.steadyByMethod = writeRequests(b).minus(quiet)
	res.steadyWrites = sum(res.steadyByMethod)
	return res
}

// readyCount counts the Ready workloads of ns, 500 a page, so the poll's
// own memory stays small at any N.
func (e *benchEnv) readyCount(ctx context.Context, ns string) (int, error) {
	ready := 0
	for cont := ""; ; {
		var list v1alpha1.MarketingWorkloadList
		if err := e.client.List(ctx, &list, client.InNamespace(ns), client.Limit(500), client.Continue(cont)); err != nil {
			return 0, fmt.Errorf("listing workloads: %w", err)
		}
		for i := range list.Items {
			mw := &list.Items[i]
			if mw.Status.ObservedGeneration == mw.Generation && meta.IsStatusConditionTrue(mw.Status.Conditions, v1alpha1.ConditionReady) {
				ready++
			}
		}
		if cont = list.Continue; cont == "" {
			return ready, nil
		}
	}
}

// plain creates, with the benchmark's client and no operator, the children
// render.Render makes for the same n workloads, in a fresh namespace: the
// floor under converge.
func (e *benchEnv) plain(b *testing.B, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	ns := e.namespace(b, "bench-plain")
	start := time.Now()
	for i := range n {
		children, _, err := render.Render(render.Inputs{Workload: benchWorkload(ns, i), Standard: e.standard, Now: time.Now()})
		if err != nil {
			b.Fatalf("rendering workload %d: %v", i, err)
		}
		objs := children.Objects()
		if i == 0 && len(objs) != 5 {
			b.Fatalf("render made %d children, want 5 (ServiceAccount, NetworkPolicy, ConfigMap, Service, Deployment)", len(objs))
		}
		for _, o := range objs {
			if err := e.client.Create(ctx, o); err != nil {
				b.Fatalf("creating %T %s: %v", o, o.GetName(), err)
			}
		}
	}
	return time.Since(start)
}

// writeCounts are rest_client_requests_total by write method.
type writeCounts map[string]int

var writeMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// writeRequests reads the client-go request counter controller-runtime
// registers: every REST client in the process, all response codes.
func writeRequests(b *testing.B) writeCounts {
	b.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatalf("gathering metrics: %v", err)
	}
	out := writeCounts{}
	for _, m := range writeMethods {
		out[m] = 0
	}
	found := false
	for _, f := range families {
		if f.GetName() != "rest_client_requests_total" {
			continue
		}
		found = true
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "method" {
					continue
				}
				if _, ok := out[l.GetValue()]; ok {
					out[l.GetValue()] += int(m.GetCounter().GetValue())
				}
			}
		}
	}
	if !found {
		b.Fatal("rest_client_requests_total is not in controller-runtime's registry")
	}
	return out
}

func (w writeCounts) minus(o writeCounts) writeCounts {
	out := writeCounts{}
	for _, m := range writeMethods {
		out[m] = w[m] - o[m]
	}
	return out
}

func sum(w writeCounts) int {
	t := 0
	for _, v := range w {
		t += v
	}
	return t
}

// heapSampler records the largest HeapInuse seen.
type heapSampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler(every time.Duration) *heapSampler {
	h := &heapSampler{quit: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.quit:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// stop ends sampling and returns the peak; safe to call more than once.
func (h *heapSampler) stop() uint64 {
	select {
	case <-h.quit:
	default:
		close(h.quit)
	}
	h.wg.Wait()
	return h.peak
}
