// Package webhookenv starts what the webhook suite, BenchmarkCreate and
// `make bench-load` (test/bench/load) share: a real kube-apiserver and etcd
// (envtest) with the CRDs and the webhook configurations of config/, and a
// manager serving the real webhooks of internal/webhook over TLS on
// loopback, with the real engine. The manager may run in the caller's
// process or in another one (bench-load runs it as a child so that its CPU
// time and memory are its own): StartAPIServer gives the Serving address
// and the kubeconfig, StartManager takes them.
package webhookenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/testenv"
	"github.com/martech-guardrails/guardrails/internal/webhook"
)

// ManagerUser is the identity the manager runs as, as its service account
// does in a cluster (config/default): the webhook configurations'
// matchConditions leave its own writes unjudged. Clients of envtest's admin
// are someone else, so what they send is judged.
const ManagerUser = "system:serviceaccount:guardrails-system:guardrails-controller-manager"

// Scheme has client-go's kinds and ours.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// Serving is where the webhook server listens and its certificate, which
// envtest made and pointed the webhook configurations at.
type Serving struct {
	Host    string
	Port    int
	CertDir string
}

// APIServer is a running kube-apiserver and etcd.
type APIServer struct {
	Env *envtest.Environment
	// Config is envtest's admin, without client-side rate limit (the
	// benchmarks measure the server): judged by the webhooks.
	Config *rest.Config
	// Serving is where the webhook configurations send their calls.
	Serving Serving
}

// StartAPIServer starts kube-apiserver and etcd from assets with the CRDs of
// root/config/crd/bases and the webhook configurations of root/config/webhook
// installed, pointed at a local server on loopback. On error the returned
// APIServer, when not nil, must still be stopped.
func StartAPIServer(root, assets string) (*APIServer, error) {
	a := &APIServer{Env: &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}},
	}}
	cfg, err := a.Env.Start()
	if err != nil {
		return a, err
	}
	cfg.QPS, cfg.Burst = -1, 0
	a.Config = cfg
	wio := &a.Env.WebhookInstallOptions
	a.Serving = Serving{Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir}
	return a, nil
}

// ManagerConfig is a client config for ManagerUser (a system:masters
// member, as the tests need no narrower RBAC), without client-side rate
// limit, and the same as a kubeconfig file's bytes (for a manager in another
// process).
func (a *APIServer) ManagerConfig() (*rest.Config, []byte, error) {
	u, err := a.Env.AddUser(envtest.User{Name: ManagerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, nil, err
	}
	kubeconfig, err := u.KubeConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg := u.Config()
	cfg.QPS, cfg.Burst = -1, 0
	return cfg, kubeconfig, nil
}

// Stop stops the API server and etcd.
func (a *APIServer) Stop() error {
	if a == nil || a.Env == nil {
		return nil
	}
	return a.Env.Stop()
}

// ManagerOptions configure StartManager.
type ManagerOptions struct {
	// Config is the manager's identity (ManagerConfig).
	Config *rest.Config
	// Scheme is the manager's; Scheme() when nil.
	Scheme  *runtime.Scheme
	Serving Serving
	// Engine configures the policy engine.
	Engine policy.Options
	// Controllers runs every reconciler too; without, the manager serves
	// the webhooks only and the figures are the admission path.
	Controllers bool
	// Clock gives the webhooks' and controllers' now; the real clock when nil.
	Clock clock.PassiveClock
	// NoOp also serves the no-op handlers (RegisterNoOp) before the
	// manager starts.
	NoOp bool
}

// Manager is a started manager serving the webhooks.
type Manager struct {
	Engine   *policy.Engine
	Policies *policyset.Loader
	Hooks    *webhook.Webhooks
	Server   crwebhook.Server
	// Self is the username the manager authenticates as, exempt from the
	// webhooks.
	Self string
	// Cache is the manager's cache, what the webhooks read: a test that
	// creates an object a later request depends on waits until it is here.
	Cache client.Reader
	// Stop stops the manager and returns what its Start returned; nil until
	// the manager started.
	Stop func() error
}

// StartManager starts a manager with the webhooks of internal/webhook (and
// the controllers when asked) and waits until they serve. On error the
// returned Manager's Stop, when not nil, must still be called.
func StartManager(opts ManagerOptions) (*Manager, error) {
	if opts.Scheme == nil {
		opts.Scheme = Scheme()
	}
	m := &Manager{Server: crwebhook.NewServer(crwebhook.Options{
		Host: opts.Serving.Host, Port: opts.Serving.Port, CertDir: opts.Serving.CertDir,
		// HTTP/1.1 only, as cmd/manager serves by default.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	})}
	mgr, err := ctrl.NewManager(opts.Config, ctrl.Options{
		Scheme:                 opts.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          m.Server,
		// The manager's own cache options (controllers/cache.go).
		Cache: controllers.CacheOptions(nil),
	})
	if err != nil {
		return m, err
	}
	m.Cache = mgr.GetCache()
	if m.Engine, err = policy.New(opts.Engine); err != nil {
		return m, err
	}
	// One loader owns the engine's GuardrailPolicies, as in the manager;
	// Gatekeeper's CRDs, which a spec may install while the manager runs,
	// are looked for every second.
	m.Policies = policyset.New(m.Engine).WithGatekeeper(policyset.GatekeeperOptions{Recheck: time.Second})
	if opts.Controllers {
		if err := controllers.SetupAll(mgr, controllers.Options{Engine: m.Engine, Policies: m.Policies, Clock: opts.Clock}); err != nil {
			return m, err
		}
	}
	if m.Self, err = webhook.SelfUsername(context.Background(), mgr.GetClient()); err != nil {
		return m, err
	}
	m.Hooks, err = webhook.New(webhook.Options{Engine: m.Engine, Policies: m.Policies, Clock: opts.Clock, ExemptUsernames: []string{m.Self}})
	if err != nil {
		return m, err
	}
	if err := m.Hooks.SetupWithManager(mgr); err != nil {
		return m, err
	}
	if opts.NoOp {
		RegisterNoOp(m.Server)
	}
	m.Stop, err = testenv.Run(mgr, m.Hooks.ReadyChecker(), 60*time.Second)
	if err != nil {
		return m, fmt.Errorf("starting the manager: %w", err)
	}
	return m, nil
}

// StopAll stops the manager (when started) and then the API server.
func StopAll(m *Manager, a *APIServer) error {
	var mgrErr error
	if m != nil && m.Stop != nil {
		mgrErr = m.Stop()
	}
	return errors.Join(mgrErr, a.Stop())
}
