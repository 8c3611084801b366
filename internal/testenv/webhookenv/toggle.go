package webhookenv

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Mode is which webhook configurations the API server has.
type Mode int

const (
	// Off is none: the API server admits on its own.
	Off Mode = iota
	// Ours is config/webhook as envtest installed it.
	Ours
	// NoOp is the same registrations (rules, selectors, matchConditions,
	// failure policies, timeouts, TLS) pointed at handlers on the same
	// server that allow at once: the floor of calling a webhook.
	NoOp
)

func (m Mode) String() string {
	switch m {
	case Off:
		return "none"
	case Ours:
		return "ours"
	case NoOp:
		return "no-op"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// NoOpPathPrefix starts the paths of the no-op handlers.
const NoOpPathPrefix = "/noop-"

// noOpPath is the no-op validating handler's path.
const noOpPath = NoOpPathPrefix + "validate"

// noOpHandlerWarning is the warning the no-op handler adds to the answer to
// a dry-run probe, so that a client in any process can tell that the no-op
// configuration is the one the API server calls. Every other request gets
// a bare allow.
const noOpHandlerWarning = "webhookenv: answered by the no-op handler"

// RegisterNoOp serves the no-op handler on srv (before or after the
// manager starts). It decodes the AdmissionReview as every
// controller-runtime webhook does and allows, so that the no-op mode costs
// what a webhook costs before any of our code runs.
func RegisterNoOp(srv crwebhook.Server) {
	srv.Register(noOpPath, &admission.Webhook{Handler: admission.HandlerFunc(func(_ context.Context, req admission.Request) admission.Response {
		resp := admission.Allowed("")
		if req.DryRun != nil && *req.DryRun && strings.HasPrefix(req.Name, probeName) {
			resp = resp.WithWarnings(noOpHandlerWarning)
		}
		return resp
	})})
}

// Toggle switches the API server between no webhook configurations, the
// ones envtest installed (Ours, the mode it starts in), and copies of them
// pointed at the no-op handler, and waits until the API server acts on the
// change.
type Toggle struct {
	probeClient client.Client
	warnings    *warningRecorder
	configs     map[Mode][]client.Object
	mode        Mode
}

// NewToggle reads the installed configuration through admin, envtest's
// admin config (the probe must be judged, so not the manager's identity).
// The API server must have config/samples (the probe is a workload in
// their managed namespace with a registry their standard refuses).
func NewToggle(ctx context.Context, admin *rest.Config, scheme *runtime.Scheme) (*Toggle, error) {
	t := &Toggle{mode: Ours, warnings: &warningRecorder{}}
	cfg := rest.CopyConfig(admin)
	cfg.WarningHandlerWithContext = t.warnings
	var err error
	if t.probeClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := t.probeClient.Get(ctx, client.ObjectKey{Name: "validating-webhook-configuration"}, validating); err != nil {
		return nil, err
	}
	noop := validating.DeepCopy()
	noop.Name = "noop-" + validating.Name
	for i := range noop.Webhooks {
		if err := pointAt(&noop.Webhooks[i].ClientConfig, noOpPath); err != nil {
			return nil, fmt.Errorf("webhook %s: %w", noop.Webhooks[i].Name, err)
		}
	}
	t.configs = map[Mode][]client.Object{Ours: {validating}, NoOp: {noop}}
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

// Set installs mode's configurations in place of the current ones and waits
// (30 s at most) until a dry-run probe shows the API server calls exactly
// them: our webhook rejects the probe, the no-op handler marks its answer.
func (t *Toggle) Set(ctx context.Context, mode Mode) error {
	if mode == t.mode {
		return nil
	}
	for _, obj := range t.configs[t.mode] {
		if err := t.probeClient.Delete(ctx, obj.DeepCopyObject().(client.Object)); err != nil {
			return err
		}
	}
	for _, obj := range t.configs[mode] {
		obj = obj.DeepCopyObject().(client.Object)
		obj.SetResourceVersion("")
		obj.SetUID("")
		if err := t.probeClient.Create(ctx, obj); err != nil {
			return err
		}
	}
	t.mode = mode
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		t.warnings.take()
		err := t.probeClient.Create(ctx, probe(), client.DryRunAll)
		if err != nil && !apierrors.IsForbidden(err) {
			return err
		}
		rejected, sawNoOp := err != nil, slices.Contains(t.warnings.take(), noOpHandlerWarning)
		if rejected == (mode == Ours) && sawNoOp == (mode == NoOp) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the API server did not pick up the webhook configurations of mode %s in 30s", mode)
}

// warningRecorder keeps the warnings of the probe client's requests.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}
