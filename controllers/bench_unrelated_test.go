package controllers_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// benchUnrelatedEnv sets how many unrelated ConfigMaps
// BenchmarkUnrelatedObjects creates; a quarter as many Deployments and as
// many Services.
const benchUnrelatedEnv = "GUARDRAILS_BENCH_UNRELATED"

// BenchmarkUnrelatedObjects measures what objects the operator does not own
// cost the manager's memory: 20,000 ConfigMaps, 5,000 Deployments and 5,000
// Services in ten namespaces of their own, labelled as a Helm release's
// would be (app.kubernetes.io/managed-by=Helm), none of them a workload's
// child. Run it alone with
//
//	go test ./controllers/ -run '^$' -bench BenchmarkUnrelatedObjects -benchtime 1x
//
// Figures (live heap: HeapAlloc after two forced GCs, the manager synced and
// idle; the process holds the benchmark's client too, the same in each):
//   - empty-heap-MiB: the manager on an empty cluster.
//   - growth-MiB: with the unrelated objects, less empty-heap-MiB, with
//     controllers.CacheOptions (the manager's own).
//   - uncached-growth-MiB: the same with no cache options, as the manager
//     was before them (every object of every child kind cached): what the
//     options save.
func BenchmarkUnrelatedObjects(b *testing.B) {
	configMaps := 20000
	if s := os.Getenv(benchUnrelatedEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 4 {
			b.Fatalf("%s=%q: want an integer of at least 4", benchUnrelatedEnv, s)
		}
		configMaps = n
	}
	env := startAPIServer(b)
	defer env.stop(b)

	var empty, full, uncached uint64
	measured := false
	for b.Loop() {
		if measured {
			continue
		}
		measured = true
		empty = env.syncedHeap(b, controllers.CacheOptions(nil))
		env.createUnrelated(b, configMaps, configMaps/4)
		full = env.syncedHeap(b, controllers.CacheOptions(nil))
		uncached = env.syncedHeap(b, cache.Options{})
	}
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mib(empty), "empty-heap-MiB")
	b.ReportMetric(mib(full)-mib(empty), "growth-MiB")
	b.ReportMetric(mib(uncached)-mib(empty), "uncached-growth-MiB")
	b.Logf("%d ConfigMaps, %d Deployments, %d Services elsewhere: live heap %.1f MiB empty, %.1f MiB with CacheOptions, %.1f MiB without",
		configMaps, configMaps/4, configMaps/4, mib(empty), mib(full), mib(uncached))
}

// syncedHeap starts a manager with cacheOpts, waits until the informers of
// every kind it watches have synced and it is idle, reads the live heap, and
// stops it.
func (e *benchEnv) syncedHeap(b *testing.B, cacheOpts cache.Options) uint64 {
	b.Helper()
	mgr := e.startManager(b, cacheOpts)
	defer e.stopManager(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// GetInformer waits for the informer to sync; the controllers start
	// these same informers for their watches.
	kinds := append(render.OwnedTypes(), &v1alpha1.MarketingWorkload{}, &v1alpha1.SaaSIntegration{})
	for _, obj := range kinds {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			b.Fatalf("informer of %T: %v", obj, err)
		}
	}
	time.Sleep(2 * time.Second) // controllers start, queues drain
	return liveHeap()
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// createUnrelated creates, with the benchmark's client and 8 at a time,
// configMaps ConfigMaps (about 1 KiB of data each) and deployments
// Deployments and as many Services, spread over ten namespaces.
func (e *benchEnv) createUnrelated(b *testing.B, configMaps, deployments int) {
	b.Helper()
	ctx := context.Background()
	namespaces := make([]string, 10)
	for i := range namespaces {
		namespaces[i] = e.namespace(b, fmt.Sprintf("unrelated-%d", i))
	}
	labels := func(name string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "shop-1.4.2"}
	}
	data := strings.Repeat("x", 1024)
	objs := make(chan client.Object, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Go(func() {
			for o := range objs {
				if err := e.client.Create(ctx, o); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("creating %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range configMaps {
		name := fmt.Sprintf("settings-%05d", i)
		objs <- &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespaces[i%10], Name: name, Labels: labels(name)},
			Data: map[string]string{"settings.yaml": data}}
	}
	for i := range deployments {
		name := fmt.Sprintf("shop-%05d", i)
		ns := namespaces[i%10]
		sel := map[string]string{"app.kubernetes.io/name": name}
		objs <- &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels(name)}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(name)}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "shop", Image: "registry.example/shop:1.4.2",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   []corev1.EnvVar{{Name: "SHOP_NAME", Value: name}, {Name: "LOG_LEVEL", Value: "info"}},
			}}}},
		}}
		objs <- &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels(name)}, Spec: corev1.ServiceSpec{
			Selector: sel, Ports: []corev1.ServicePort{{Name: "http", Port: 80}},
		}}
	}
	close(objs)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}
