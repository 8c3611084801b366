package webhook_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
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
	times := make(map[webhookMode][]time.Duration)
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
			for _, mode := range []webhookMode{webhooksOff, webhooksOurs, webhooksNoOp} {
				b.StopTimer()
				if err := toggle.set(ctx, mode); err != nil {
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
	with, without, noop := times[webhooksOurs], times[webhooksOff], times[webhooksNoOp]
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
			if strings.HasPrefix(path, noopPathPrefix) {
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

// webhookMode is which webhook configurations the API server has.
type webhookMode int

const (
	webhooksOff  webhookMode = iota // none
	webhooksOurs                    // config/webhook as envtest installed it
	// webhooksNoOp: the same registrations (rules, selectors, failure
	// policies, TLS), served by handlers that allow at once.
	webhooksNoOp
)

// noopPathPrefix starts the paths of the no-op handlers.
const noopPathPrefix = "/noop-"

// webhookToggle switches the API server between no webhook configurations,
// the ones envtest installed, and copies of them pointed at no-op handlers
// on the same server, and waits until the API server acts on the change.
type webhookToggle struct {
	e *env
	// configs are the configurations installed in each mode.
	configs map[webhookMode][]client.Object
	mode    webhookMode
	// noopCalls counts the no-op validating handler's requests.
	noopCalls atomic.Int64
}

func newWebhookToggle(ctx context.Context, e *env) (*webhookToggle, error) {
	t := &webhookToggle{e: e, mode: webhooksOurs}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := e.client.Get(ctx, client.ObjectKey{Name: "validating-webhook-configuration"}, validating); err != nil {
		return nil, err
	}
	noopValidating := validating.DeepCopy()
	noopValidating.Name = "noop-" + validating.Name
	for i := range noopValidating.Webhooks {
		if err := pointAt(&noopValidating.Webhooks[i].ClientConfig, noopPathPrefix+"validate"); err != nil {
			return nil, err
		}
	}
	t.configs = map[webhookMode][]client.Object{
		webhooksOurs: {validating},
		webhooksNoOp: {noopValidating},
	}
	allow := admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	})
	e.server.Register(noopPathPrefix+"validate", &admission.Webhook{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		t.noopCalls.Add(1)
		return allow(ctx, req)
	})})
	return t, nil
}

// pointAt points a webhook's client config, which envtest sets to a URL on
// the local server, at path on the same server.
func pointAt(cc *admissionregistrationv1.WebhookClientConfig, path string) error {
	if cc.URL == nil {
		return fmt.Errorf("webhook client config has no URL")
	}
	u, err := url.Parse(*cc.URL)
	if err != nil {
		return err
	}
	u.Path = path
	to := u.String()
	cc.URL = &to
	return nil
}

func (t *webhookToggle) set(ctx context.Context, mode webhookMode) error {
	if mode == t.mode {
		return nil
	}
	for _, obj := range t.configs[t.mode] {
		if err := t.e.client.Delete(ctx, obj.DeepCopyObject().(client.Object)); err != nil {
			return err
		}
	}
	for _, obj := range t.configs[mode] {
		obj = obj.DeepCopyObject().(client.Object)
		obj.SetResourceVersion("")
		obj.SetUID("")
		if err := t.e.client.Create(ctx, obj); err != nil {
			return err
		}
	}
	t.mode = mode
	// A workload our webhooks reject, and the no-op handler's count, show
	// which configurations the API server calls.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		before := t.noopCalls.Load()
		err := t.e.client.Create(ctx, workload("bench-probe", withImage("docker.io/library/probe:1.0.0")), client.DryRunAll)
		if err != nil && !apierrors.IsForbidden(err) {
			return err
		}
		rejected, sawNoop := err != nil, t.noopCalls.Load() > before
		if rejected == (mode == webhooksOurs) && sawNoop == (mode == webhooksNoOp) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the API server did not pick up the webhook configurations (mode %d)", mode)
}
