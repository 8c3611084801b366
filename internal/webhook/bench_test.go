package webhook_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// BenchmarkCreate measures what the webhooks add to a create through the
// real API server: in alternating rounds with the webhook configurations
// removed and installed again, 2000 creates of each, reporting p50 and p99
// of each and their ratio. The manager runs the webhooks only (no
// controllers), so the figures are the admission path.
//
//   - MarketingWorkload: like the winter-sale sample (two integrations, so
//     the engine judges three objects), through the mutating and the
//     validating webhook; the engine's evaluation dominates.
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
	toggle, err := newWebhookToggle(ctx, e)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	b.Run("MarketingWorkload", func(b *testing.B) {
		benchmarkCreates(ctx, b, toggle, false, func() client.Object {
			n++
			return workload(fmt.Sprintf("bench-%d", n),
				withIntegrations([]string{"hubspot-email", "web-analytics"},
					"user.contact.email", "user.name", "user.behavior.browsing_history", "user.device.cookie_id"))
		})
	})
	b.Run("Vendor", func(b *testing.B) {
		benchmarkCreates(ctx, b, toggle, true, func() client.Object {
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

func benchmarkCreates(ctx context.Context, b *testing.B, toggle *webhookToggle, deleteAfter bool, next func() client.Object) {
	const rounds, perRound, warmup = 10, 200, 10
	var with, without []time.Duration
	create := func() (time.Duration, error) {
		obj := next()
		start := time.Now()
		err := toggle.e.client.Create(ctx, obj)
		d := time.Since(start)
		if err == nil && deleteAfter {
			err = toggle.e.client.Delete(ctx, obj)
		}
		return d, err
	}
	handlerTime(b) // start counting here
	b.ResetTimer()
	for range b.N {
		for range rounds {
			for _, on := range []bool{false, true} {
				b.StopTimer()
				if err := toggle.set(ctx, on); err != nil {
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
					if on {
						with = append(with, d)
					} else {
						without = append(without, d)
					}
				}
			}
		}
	}
	b.StopTimer()
	p50w, p99w := percentile(with, 50), percentile(with, 99)
	p50o, p99o := percentile(without, 50), percentile(without, 99)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(p50w), "p50-webhook-ms")
	b.ReportMetric(ms(p99w), "p99-webhook-ms")
	b.ReportMetric(ms(p50o), "p50-plain-ms")
	b.ReportMetric(ms(p99o), "p99-plain-ms")
	b.ReportMetric(float64(p50w)/float64(p50o), "p50-ratio")
	b.ReportMetric(ms(p99w-p99o), "p99-overhead-ms")
	handler := handlerTime(b)
	b.ReportMetric(ms(handler), "handler-mean-ms")
	b.Logf("%d creates each: with webhooks p50 %.2f ms p99 %.2f ms; without p50 %.2f ms p99 %.2f ms; p50 ratio %.2fx, p50 overhead %.2f ms, p99 overhead %.2f ms; time in our handlers %.2f ms per webhooked create (mean)",
		len(with), ms(p50w), ms(p99w), ms(p50o), ms(p99o), float64(p50w)/float64(p50o), ms(p50w-p50o), ms(p99w-p99o), ms(handler))
}

// handlerTime is the mean time our handlers spent per create since the
// last call, from controller-runtime's webhook latency histogram (summed
// over the webhooks a create goes through).
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
			sum += m.GetHistogram().GetSampleSum()
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && strings.HasPrefix(l.GetValue(), "/validate-") {
					count += m.GetHistogram().GetSampleCount()
				}
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

// webhookToggle removes and reinstalls the webhook configurations envtest
// installed, and waits until the API server acts on the change.
type webhookToggle struct {
	e          *env
	validating *admissionregistrationv1.ValidatingWebhookConfiguration
	mutating   *admissionregistrationv1.MutatingWebhookConfiguration
	on         bool
}

func newWebhookToggle(ctx context.Context, e *env) (*webhookToggle, error) {
	t := &webhookToggle{e: e, on: true,
		validating: &admissionregistrationv1.ValidatingWebhookConfiguration{},
		mutating:   &admissionregistrationv1.MutatingWebhookConfiguration{}}
	if err := e.client.Get(ctx, client.ObjectKey{Name: "validating-webhook-configuration"}, t.validating); err != nil {
		return nil, err
	}
	if err := e.client.Get(ctx, client.ObjectKey{Name: "mutating-webhook-configuration"}, t.mutating); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *webhookToggle) set(ctx context.Context, on bool) error {
	if on == t.on {
		return nil
	}
	for _, obj := range []client.Object{t.validating, t.mutating} {
		obj = obj.DeepCopyObject().(client.Object)
		obj.SetResourceVersion("")
		obj.SetUID("")
		var err error
		if on {
			err = t.e.client.Create(ctx, obj)
		} else {
			err = t.e.client.Delete(ctx, obj)
		}
		if err != nil {
			return err
		}
	}
	t.on = on
	// A workload the webhooks reject shows whether the API server calls them.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := t.e.client.Create(ctx, workload("bench-probe", withImage("docker.io/library/probe:1.0.0")), client.DryRunAll)
		if (err == nil) != on && (err == nil || apierrors.IsForbidden(err)) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the API server did not pick up the webhook configurations (on=%v)", on)
}
