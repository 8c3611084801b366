package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/audit"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
)

// Bench world: 10,000 objects (50 vendors, and in each of 50 namespaces 100
// SaaSIntegrations and 99 MarketingWorkloads using two of them each).
// AUDIT_BENCH_NAMESPACES=N runs with N namespaces instead (for profiling).
var benchNamespaces = 50

func init() {
	if n, err := strconv.Atoi(os.Getenv("AUDIT_BENCH_NAMESPACES")); err == nil && n > 0 {
		benchNamespaces = n
	}
}

const (
	benchVendors      = 50
	benchIntegrations = 100 // per namespace
	benchWorkloads    = 99  // per namespace
)

// BenchmarkAuditPass runs full audit passes over 10,000 objects on envtest
// and prints: the first pass (reports written from nothing), then per
// unchanged pass (b.N of them) its wall time, report writes, reconcilers
// asked to judge again, status writes (objects whose resourceVersion
// changed across the passes: the bench runs no reconcilers, so any would be
// the audit's own), and the peak heap of the process during the passes (the
// informer cache of the 10,000 objects included).
func BenchmarkAuditPass(b *testing.B) {
	ctx := context.Background()
	logf.SetLogger(logr.Discard())
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "k8s")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{"../../config/crd/bases", "../../config/reports/openreports"},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: dir,
	}
	cfg, err := env.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	s := newScheme()
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		b.Fatal(err)
	}
	objects := benchWorld(ctx, b, c)

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		b.Fatal(err)
	}
	engine, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := policyset.New(engine).Add(mgr); err != nil {
		b.Fatal(err)
	}
	a, err := audit.New(audit.Options{Engine: engine, Interval: -1})
	if err != nil {
		b.Fatal(err)
	}
	a.Bind(mgr)
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = mgr.Start(mctx) }()
	if !mgr.GetCache().WaitForCacheSync(mctx) {
		b.Fatal("cache did not sync")
	}

	first, err := a.Pass(ctx, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	if first.Objects != objects {
		b.Fatalf("first pass judged %d objects, want %d", first.Objects, objects)
	}
	b.Logf("first pass (nothing recorded yet): %d objects in %d scopes, %s, %d report writes, %d reconcilers asked",
		first.Objects, first.Scopes, first.Duration.Round(time.Millisecond), first.ReportWrites, first.Rejudged)
	b.ReportMetric(first.Duration.Seconds(), "first-pass-s")
	b.ReportMetric(float64(first.ReportWrites), "first-pass-report-writes")
	b.ReportMetric(float64(first.Rejudged), "first-pass-rejudged")
	versions := resourceVersionsOf(ctx, b, c)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	peak := sampleHeap()
	b.ResetTimer()
	var writes, rejudged int
	var took time.Duration
	cpu0 := cpuTime()
	for range b.N {
		st, err := a.Pass(ctx, nil, true)
		if err != nil {
			b.Fatal(err)
		}
		writes += st.ReportWrites
		rejudged += st.Rejudged
		took += st.Duration
	}
	b.StopTimer()
	cpu := (cpuTime() - cpu0) / time.Duration(b.N)
	maxHeap := peak()
	statusWrites := 0
	for key, rv := range resourceVersionsOf(ctx, b, c) {
		if versions[key] != rv {
			statusWrites++
		}
	}
	b.ReportMetric(cpu.Seconds(), "cpu-s/pass")
	b.ReportMetric(took.Seconds()/float64(b.N), "s/pass")
	b.ReportMetric(float64(writes)/float64(b.N), "report-writes/pass")
	b.ReportMetric(float64(rejudged)/float64(b.N), "rejudged/pass")
	b.ReportMetric(float64(statusWrites)/float64(b.N), "status-writes/pass")
	b.ReportMetric(float64(maxHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "heap-before-pass-MiB")
	b.Logf("unchanged pass: %s wall, %s CPU of this process (both cores; the API server's excluded), %d report writes, %d reconcilers asked, %d status writes (of %d objects); peak heap %.0f MiB (%.0f MiB in use before the pass, the cache included)",
		(took / time.Duration(b.N)).Round(time.Millisecond), cpu.Round(time.Millisecond), writes/b.N, rejudged/b.N, statusWrites/b.N, len(versions), float64(maxHeap)/(1<<20), float64(base.HeapInuse)/(1<<20))
}

// resourceVersionsOf lists the resourceVersion of every object of our
// kinds from the API server, by kind/namespace/name.
func resourceVersionsOf(ctx context.Context, b *testing.B, c client.Client) map[string]string {
	b.Helper()
	out := map[string]string{}
	for _, k := range v1alpha1.Kinds() {
		list := k.NewList()
		if err := c.List(ctx, list); err != nil {
			b.Fatal(err)
		}
		if err := meta.EachListItem(list, func(o kruntime.Object) error {
			m, err := meta.Accessor(o)
			if err == nil {
				out[k.Name+"/"+m.GetNamespace()+"/"+m.GetName()] = m.GetResourceVersion()
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// sampleHeap samples HeapInuse every 5 ms until the returned function is
// called, which returns the largest sample.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// benchWorld creates the bench objects with a few writers at once and
// returns how many objects the audit will judge.
func benchWorld(ctx context.Context, b *testing.B, c client.Client) int {
	b.Helper()
	var objs []client.Object
	std := &v1alpha1.PlatformStandard{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultStandardName}}
	std.Spec.AllowedRegistries = []string{"ghcr.io/acme-marketing/"}
	std.Spec.DataResidency.AllowedRegions = []v1alpha1.Region{"eu"}
	objs = append(objs, std)
	for v := range benchVendors {
		vendor := &v1alpha1.Vendor{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vendor-%02d", v)}}
		vendor.Spec = v1alpha1.VendorSpec{
			DisplayName: fmt.Sprintf("Vendor %d", v), Category: "crm", Status: "approved",
			Domains:               []v1alpha1.FQDN{v1alpha1.FQDN(fmt.Sprintf("vendor-%02d.example", v))},
			AllowedDataCategories: []v1alpha1.TaxonomyKey{"user.contact", "user.behavior"},
			AllowedDataUses:       []v1alpha1.TaxonomyKey{"marketing"},
			ProcessingRegions:     []v1alpha1.Region{"eu"},
		}
		objs = append(objs, vendor)
	}
	var nss []client.Object
	for n := range benchNamespaces {
		ns := fmt.Sprintf("bench-%02d", n)
		nss = append(nss, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		for i := range benchIntegrations {
			si := &v1alpha1.SaaSIntegration{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("int-%03d", i), Namespace: ns}}
			si.Spec = v1alpha1.SaaSIntegrationSpec{
				Vendor: fmt.Sprintf("vendor-%02d", (n+i)%benchVendors), Purpose: "bench", DataUse: "marketing.communications.email",
				DataCategories: []v1alpha1.TaxonomyKey{"user.contact.email"}, Region: "eu",
				Credentials: &v1alpha1.Credentials{SecretName: fmt.Sprintf("int-%03d-credentials", i), Keys: []string{"API_KEY"}},
			}
			objs = append(objs, si)
		}
		for i := range benchWorkloads {
			mw := &v1alpha1.MarketingWorkload{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("site-%03d", i), Namespace: ns}}
			mw.Spec = v1alpha1.MarketingWorkloadSpec{
				Owner: v1alpha1.Owner{Team: "growth", Contact: "growth@acme.example"}, CostCenter: "MKT-1",
				Image: "ghcr.io/acme-marketing/site:1.0.0", Replicas: ptr.To[int32](1),
				Integrations:   []v1alpha1.IntegrationRef{{Name: fmt.Sprintf("int-%03d", i)}, {Name: fmt.Sprintf("int-%03d", i+1)}},
				DataCategories: []v1alpha1.TaxonomyKey{"user.contact.email"},
			}
			objs = append(objs, mw)
		}
	}
	create(ctx, b, c, nss)
	create(ctx, b, c, objs)
	return len(objs)
}

func create(ctx context.Context, b *testing.B, c client.Client, objs []client.Object) {
	b.Helper()
	work := make(chan client.Object)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := c.Create(ctx, o); err != nil {
					failed.Store(fmt.Errorf("creating %T %s: %w", o, o.GetName(), err))
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
