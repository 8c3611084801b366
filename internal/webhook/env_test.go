package webhook_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/testenv"
	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
	"github.com/martech-guardrails/guardrails/internal/webhook"
)

// managerUser is the identity the manager runs as in the tests, as its
// service account does in a cluster. The tests' own clients use envtest's
// admin, so their requests are judged.
const managerUser = webhookenv.ManagerUser

// env is a real kube-apiserver and etcd calling the real webhook server over
// TLS, with the webhook configurations of config/webhook installed by
// envtest (which points them at the local server with its own CA); the
// setup is internal/testenv/webhookenv's, shared with bench-load.
type env struct {
	api     *webhookenv.APIServer
	testEnv *envtest.Environment
	// cfg and client are envtest's admin: judged by the webhooks.
	cfg    *rest.Config
	client client.Client
	// managerClient is the manager's identity, uncached.
	managerClient client.Client
	scheme        *runtime.Scheme
	engine        *policy.Engine
	policies      *policyset.Loader
	hooks         *webhook.Webhooks
	server        crwebhook.Server // the manager's, serving hooks
	mgr           *webhookenv.Manager
}

type envOptions struct {
	controllers bool
	clock       clock.PassiveClock
}

var repoPath = testenv.RepoPath

func assetsDir() (string, error) {
	assets := testenv.Assets()
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("kube-apiserver not found in %s: run `make envtest-bins`", assets)
	}
	return assets, nil
}

func startEnv(opts envOptions) (*env, error) {
	assets, err := assetsDir()
	if err != nil {
		return nil, err
	}
	e := &env{scheme: webhookenv.Scheme()}
	e.api, err = webhookenv.StartAPIServer(repoPath(), assets)
	if e.api != nil {
		e.testEnv = e.api.Env
	}
	if err != nil {
		return e, err
	}
	e.cfg = e.api.Config
	if e.client, err = client.New(e.cfg, client.Options{Scheme: e.scheme}); err != nil {
		return e, err
	}
	mgrCfg, _, err := e.api.ManagerConfig()
	if err != nil {
		return e, err
	}
	if e.managerClient, err = client.New(mgrCfg, client.Options{Scheme: e.scheme}); err != nil {
		return e, err
	}
	e.mgr, err = webhookenv.StartManager(webhookenv.ManagerOptions{
		Config: mgrCfg, Scheme: e.scheme, Serving: e.api.Serving,
		// generous: a loaded machine must not turn a verdict into a time-out
		Engine:      policy.Options{Timeout: 10 * time.Second},
		Controllers: opts.controllers, Clock: opts.clock,
	})
	if e.mgr != nil {
		e.engine, e.policies, e.hooks, e.server = e.mgr.Engine, e.mgr.Policies, e.mgr.Hooks, e.mgr.Server
	}
	if err != nil {
		return e, err
	}
	if e.mgr.Self != managerUser {
		return e, fmt.Errorf("SelfUsername = %q, want %q", e.mgr.Self, managerUser)
	}
	return e, nil
}

func (e *env) stop() error {
	if e == nil {
		return nil
	}
	return webhookenv.StopAll(e.mgr, e.api)
}

// warningClient is a client for envtest's admin that keeps the warnings of
// its last requests.
type warningClient struct {
	client.Client
	mu       sync.Mutex
	warnings []string
}

func (w *warningClient) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// take returns the warnings received since the last take.
func (w *warningClient) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}

func (e *env) newWarningClient() (*warningClient, error) {
	w := &warningClient{}
	cfg := rest.CopyConfig(e.cfg)
	cfg.WarningHandlerWithContext = w
	c, err := client.New(cfg, client.Options{Scheme: e.scheme})
	w.Client = c
	return w, err
}

// readManifests decodes every object of the YAML files in dir, in file
// name order.
func readManifests(dir string) ([]*unstructured.Unstructured, error) {
	return webhookenv.ReadManifests(dir)
}

// applySamples creates config/samples through the webhooks, as `make run`
// applies them (webhookenv.ApplySamples).
func applySamples(ctx context.Context, c client.Client) error {
	return webhookenv.ApplySamples(ctx, c, repoPath("config", "samples"))
}
