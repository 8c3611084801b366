package webhook_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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

// managerUser is the identity the manager runs as in the tests, as its
// service account does in a cluster. The tests' own clients use envtest's
// admin, so their requests are judged.
const managerUser = "system:serviceaccount:guardrails-system:guardrails-controller-manager"

// env is a real kube-apiserver and etcd calling the real webhook server over
// TLS, with the webhook configurations of config/webhook installed by
// envtest (which points them at the local server with its own CA).
type env struct {
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
	stopMgr       func() error     // stops the manager (testenv.Run)
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
	e := &env{scheme: runtime.NewScheme()}
	utilruntime.Must(clientgoscheme.AddToScheme(e.scheme))
	utilruntime.Must(v1alpha1.AddToScheme(e.scheme))
	e.testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{repoPath("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{repoPath("config", "webhook")}},
	}
	if e.cfg, err = e.testEnv.Start(); err != nil {
		return nil, err
	}
	e.cfg.QPS, e.cfg.Burst = -1, 0 // no client-side rate limit: the benchmark measures the server
	if e.client, err = client.New(e.cfg, client.Options{Scheme: e.scheme}); err != nil {
		return e, err
	}
	mgrUser, err := e.testEnv.AddUser(envtest.User{Name: managerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return e, err
	}
	mgrCfg := mgrUser.Config()
	mgrCfg.QPS, mgrCfg.Burst = -1, 0
	if e.managerClient, err = client.New(mgrCfg, client.Options{Scheme: e.scheme}); err != nil {
		return e, err
	}
	wio := &e.testEnv.WebhookInstallOptions
	e.server = crwebhook.NewServer(crwebhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		// HTTP/1.1 only, as cmd/manager serves by default.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	})
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                 e.scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          e.server,
		// The manager's own cache options (controllers/cache.go).
		Cache: controllers.CacheOptions(nil),
	})
	if err != nil {
		return e, err
	}
	if e.engine, err = policy.New(policy.Options{Timeout: 10 * time.Second}); err != nil { // generous: a loaded machine must not turn a verdict into a time-out
		return e, err
	}
	// One loader owns the engine's GuardrailPolicies, as in the manager;
	// Gatekeeper's CRDs, which a spec installs while the manager runs, are
	// looked for every second.
	policies := policyset.New(e.engine).WithGatekeeper(policyset.GatekeeperOptions{Recheck: time.Second})
	e.policies = policies
	if opts.controllers {
		if err := controllers.SetupAll(mgr, controllers.Options{Engine: e.engine, Policies: policies, Clock: opts.clock}); err != nil {
			return e, err
		}
	}
	self, err := webhook.SelfUsername(context.Background(), e.managerClient)
	if err != nil {
		return e, err
	}
	if self != managerUser {
		return e, fmt.Errorf("SelfUsername = %q, want %q", self, managerUser)
	}
	e.hooks, err = webhook.New(webhook.Options{Engine: e.engine, Policies: policies, Clock: opts.clock, ExemptUsernames: []string{self}})
	if err != nil {
		return e, err
	}
	if err := e.hooks.SetupWithManager(mgr); err != nil {
		return e, err
	}
	e.stopMgr, err = testenv.Run(mgr, e.hooks.ReadyChecker(), 60*time.Second)
	return e, err
}

func (e *env) stop() error {
	if e == nil {
		return nil
	}
	var mgrErr error
	if e.stopMgr != nil {
		mgrErr = e.stopMgr()
	}
	if e.testEnv != nil {
		return errors.Join(mgrErr, e.testEnv.Stop())
	}
	return mgrErr
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
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var u unstructured.Unstructured
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) > 0 {
				out = append(out, &u)
			}
		}
	}
	return out, nil
}

// applySamples creates config/samples through the webhooks, as `make run`
// applies them: objects a later sample makes acceptable (an integration
// waived by the exception that follows it) are retried after the rest.
func applySamples(ctx context.Context, c client.Client) error {
	objs, err := readManifests(repoPath("config", "samples"))
	if err != nil {
		return err
	}
	pending := objs
	for round := 0; len(pending) > 0; round++ {
		var failed []*unstructured.Unstructured
		var errs []error
		for _, o := range pending {
			err := c.Create(ctx, o.DeepCopy())
			if err != nil && !apierrors.IsAlreadyExists(err) {
				failed = append(failed, o)
				errs = append(errs, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err))
			}
		}
		if round == 10 {
			return errors.Join(errs...)
		}
		// An object may depend on one created just before it (an
		// integration waived by the sample exception): give the manager's
		// cache a moment to see it, as kubectl users retrying would.
		pending = failed
		if len(pending) > 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}
