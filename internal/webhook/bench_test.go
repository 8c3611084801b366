package webhook_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

// BenchmarkCreate measures what the webhooks add to a create through the
// real API server: in alternating rounds of three modes — no webhook
// configuration, ours, and the same registrations (rules, selectors,
// matchConditions, failure policies, TLS) answered by no-op handlers — 2000
// creates of each, reporting p50 and p99 of each and their ratios, our p50
// over the no-op's included. The manager runs the webhooks only (no
// controllers), so the figures are the admission path.
//
//   - MarketingWorkload: like the winter-sale sample (two integrations, so
//     the engine judges three objects), through the one validating webhook
//     (there is no mutating one); the engine's evaluation dominates.
//   - Vendor: the validating webhook with no built-in policy targeting the
//     kind, so the figure is the webhook plumbing itself: TLS round trip,
//     decoding, taxonomy check and the resolver's cached reads. Each vendor
//     is deleted after its create (not timed), so the catalogue the resolver
//     reads stays the samples' five vendors.
func BenchmarkCreate(b *testing.B) {
	logf.SetLogger(logr.Discard())
	e, err := startEnv(envOptions{})
	if err != nil {
		_ = e.stop()
		b.Fatal(err)
	}
	defer func() {
		if err := e.stop(); err != nil {
			b.Error(err)
		}
	}()
	ctx := context.Background()
	if err := applySamples(ctx, e.client); err != nil {
		b.Fatal(err)
	}
	webhookenv.RegisterNoOp(e.server)
	toggle, err := webhookenv.NewToggle(ctx, e.cfg, e.scheme)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	b.Run("MarketingWorkload", func(b *testing.B) {
		benchmarkCreates(ctx, b, e.client, toggle, false, func() client.Object {
			n++
			return webhookenv.Workload(fmt.Sprintf("bench-%d", n))
		})
	})
	b.Run("Vendor", func(b *testing.B) {
		benchmarkCreates(ctx, b, e.client, toggle, true, func() client.Object {
			n++
			return &v1alpha1.Vendor{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", n)},
				Spec: v1alpha1.VendorSpec{
					DisplayName: "Bench", Category: "email", Status: v1alpha1.VendorApproved,
					Domains:               []v1alpha1.FQDN{"bench.example"},
					AllowedDataCategories: []v1alpha1.TaxonomyKey{"user.contact.email", "user.name"},
					AllowedDataUses:       []v1alpha1.TaxonomyKey{"marketing.communications"},
					ProcessingRegions:     []v1alpha1.Region{"eu"},
				},
			}
		})
	})
}

func benchmarkCreates(ctx context.Context, b *testing.B, c client.Client, toggle *webhookenv.Toggle, deleteAfter bool, next func() client.Object) {
	const rounds, perRound, warmup = 10, 200, 10
	times := make(map[webhookenv.Mode][]time.Duration)
	create := func() (time.Duration, error) {
		obj := next()
		start := time.Now()
		err := c.Create(ctx, obj)
		d := time.Since(start)
		if err == nil && deleteAfter {
			err = c.Delete(ctx, obj)
		}
		return d, err
	}
	handlerTime(b) // start counting here
	b.ResetTimer()
	for range b.N {
		for range rounds {
			for _, mode := range []webhookenv.Mode{webhookenv.Off, webhookenv.Ours, webhookenv.NoOp} {
				b.StopTimer()
				if err := toggle.Set(ctx, mode); err != nil {
					b.Fatal(err)
				}
				for range warmup {
					if _, err := create(); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				for range perRound {
					d, err := create()
					if err != nil {
						b.Fatal(err)
					}
					times[mode] = append(times[mode], d)
				}
			}
		}
	}
	b.StopTimer()
	with, without, noop := times[webhookenv.Ours], times[webhookenv.Off], times[webhookenv.NoOp]
	p50w, p99w := percentile(with, 50), percentile(with, 99)
	p50o, p99o := percentile(without, 50), percentile(without, 99)
	p50n, p99n := percentile(noop, 50), percentile(noop, 99)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(p50w), "p50-webhook-ms")
	b.ReportMetric(ms(p99w), "p99-webhook-ms")
	b.ReportMetric(ms(p50o), "p50-plain-ms")
	b.ReportMetric(ms(p99o), "p99-plain-ms")
	b.ReportMetric(float64(p50w)/float64(p50o), "p50-ratio")
	b.ReportMetric(ms(p99w-p99o), "p99-overhead-ms")
	b.ReportMetric(float64(p50n)/float64(p50o), "p50-noop-ratio")
	b.ReportMetric(ms(p99n-p99o), "p99-noop-overhead-ms")
	b.ReportMetric(float64(p50w)/float64(p50n), "p50-vs-noop-ratio")
	b.ReportMetric(ms(p99w-p99n), "p99-vs-noop-overhead-ms")
	handler := handlerTime(b)
	b.ReportMetric(ms(handler), "handler-mean-ms")
	b.Logf("%d creates each: with webhooks p50 %.2f ms p99 %.2f ms; without p50 %.2f ms p99 %.2f ms; p50 ratio %.2fx, p50 overhead %.2f ms, p99 overhead %.2f ms; time in our handlers %.2f ms per webhooked create (mean)",
		len(with), ms(p50w), ms(p99w), ms(p50o), ms(p99o), float64(p50w)/float64(p50o), ms(p50w-p50o), ms(p99w-p99o), ms(handler))
	b.Logf("the same webhook registrations answered by no-op handlers (the floor: the API server's calls and controller-runtime's decoding, none of our code): p50 %.2f ms p99 %.2f ms; p50 ratio %.2fx, p50 overhead %.2f ms, p99 overhead %.2f ms",
		ms(p50n), ms(p99n), float64(p50n)/float64(p50o), ms(p50n-p50o), ms(p99n-p99o))
}

// handlerTime is the mean time our handlers spent per create since the
// last call, from controller-runtime's webhook latency histogram (summed
// over the webhooks a create goes through; the no-op handlers left out).
func handlerTime(b *testing.B) time.Duration {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	var count uint64
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_latency_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			path := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" {
					path = l.GetValue()
				}
			}
			if strings.HasPrefix(path, webhookenv.NoOpPathPrefix) {
				continue
			}
			sum += m.GetHistogram().GetSampleSum()
			if strings.HasPrefix(path, "/validate-") {
				count += m.GetHistogram().GetSampleCount()
			}
		}
	}
	d := time.Duration(sum*float64(time.Second)) - lastHandler.sum
	n := count - lastHandler.count
	lastHandler.sum, lastHandler.count = time.Duration(sum*float64(time.Second)), count
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

var lastHandler struct {
	sum   time.Duration
	count uint64
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)]
}
