package parity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/audit"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/status"
	"github.com/martech-guardrails/guardrails/internal/testenv"
	"github.com/martech-guardrails/guardrails/internal/webhook"
)

// managerUser is the identity the manager runs as, as its service account
// does in a cluster; the webhooks exempt it. The "real" creates of the
// suite use it too, so that they are not judged; the dry-run creates use
// envtest's admin, whose requests are.
const managerUser = "system:serviceaccount:guardrails-system:guardrails-controller-manager"

var repoPath = testenv.RepoPath

func assetsDir() (string, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = repoPath("bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("kube-apiserver not found in %s (set KUBEBUILDER_ASSETS or run `make envtest-bins`): %w", assets, err)
	}
	return assets, nil
}

// cluster is a real kube-apiserver and etcd (envtest) with the CRDs and
// the webhook configurations of config/, and one manager running the
// admission webhooks and every controller over one shared policy engine,
// all on the suite's fake clock, exactly as internal/webhook's envtest
// suite runs them.
type cluster struct {
	testEnv *envtest.Environment
	scheme  *runtime.Scheme
	// judged is envtest's admin: the webhooks judge its requests. Its
	// warnings are recorded by warnings.
	judged   client.Client
	warnings *warningRecorder
	// exempt is the manager's identity, uncached: creates that bypass the
	// webhooks, and reads of what the reconcilers wrote.
	exempt client.Client
	// cache is the manager's cached client, which the webhooks and the
	// reconcilers read the world through.
	cache   client.Reader
	stopMgr func() error // stops the manager (testenv.Run)
}

// logSink is where the manager logs: nowhere, unless PARITY_LOG names a file.
func logSink() (io.Writer, func(), error) {
	path := os.Getenv("PARITY_LOG")
	if path == "" {
		return io.Discard, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}

func startCluster(clk clock.WithTicker) (*cluster, error) {
	assets, err := assetsDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{scheme: runtime.NewScheme()}
	utilruntime.Must(clientgoscheme.AddToScheme(c.scheme))
	utilruntime.Must(v1alpha1.AddToScheme(c.scheme))
	utilruntime.Must(openreportsv1alpha1.Install(c.scheme))
	c.testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{repoPath("config", "crd", "bases"), repoPath("config", "reports", "openreports")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{repoPath("config", "webhook")}},
	}
	cfg, err := c.testEnv.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	c.warnings = &warningRecorder{}
	judgedCfg := rest.CopyConfig(cfg)
	judgedCfg.WarningHandlerWithContext = c.warnings
	if c.judged, err = client.New(judgedCfg, client.Options{Scheme: c.scheme}); err != nil {
		return c, err
	}
	mgrUser, err := c.testEnv.AddUser(envtest.User{Name: managerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, err
	}
	mgrCfg := mgrUser.Config()
	mgrCfg.QPS, mgrCfg.Burst = -1, 0
	if c.exempt, err = client.New(mgrCfg, client.Options{Scheme: c.scheme}); err != nil {
		return c, err
	}
	wio := &c.testEnv.WebhookInstallOptions
	server := crwebhook.NewServer(crwebhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		// HTTP/1.1 only, as cmd/manager serves by default.
		TLSOpts: []func(*tls.Config){func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} }},
	})
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                 c.scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          server,
		// The manager's own cache options (controllers/cache.go).
		Cache: controllers.CacheOptions(nil),
	})
	if err != nil {
		return c, err
	}
	c.cache = mgr.GetClient()
	// A generous time budget: a loaded machine must not turn a verdict
	// into a time-out (the CLI's is 1 s).
	engine, err := policy.New(policy.Options{Timeout: 10 * time.Second})
	if err != nil {
		return c, err
	}
	// One loader for every door, as cmd/manager wires them.
	policies := policyset.New(engine)
	rejudge := status.NewRejudge()
	if err := controllers.SetupAll(mgr, controllers.Options{Engine: engine, Policies: policies, Rejudge: rejudge, Clock: clk}); err != nil {
		return c, err
	}
	// Door (d): the background audit's reports, every result kept.
	auditor, err := audit.New(audit.Options{Engine: engine, Policies: policies, Rejudge: rejudge, Clock: clk, Interval: -1, MaxResults: 100000})
	if err != nil {
		return c, err
	}
	if err := auditor.SetupWithManager(mgr); err != nil {
		return c, err
	}
	hooks, err := webhook.New(webhook.Options{Engine: engine, Policies: policies, Clock: clk, ExemptUsernames: []string{managerUser}})
	if err != nil {
		return c, err
	}
	if err := hooks.SetupWithManager(mgr); err != nil {
		return c, err
	}
	c.stopMgr, err = testenv.Run(mgr, hooks.ReadyChecker(), 60*time.Second)
	return c, err
}

func (c *cluster) stop() error {
	if c == nil {
		return nil
	}
	var mgrErr error
	if c.stopMgr != nil {
		mgrErr = c.stopMgr()
	}
	if c.testEnv != nil {
		return errors.Join(mgrErr, c.testEnv.Stop())
	}
	return mgrErr
}

// setLogger sends controller-runtime's logs to PARITY_LOG (or nowhere).
func setLogger() (func(), error) {
	w, closeFn, err := logSink()
	if err != nil {
		return nil, err
	}
	logf.SetLogger(zap.New(zap.WriteTo(w), zap.UseDevMode(true)))
	return closeFn, nil
}

// warningRecorder keeps the warnings (HTTP Warning headers: admission
// warnings among them) of the judged client's requests. The suite sends
// one request at a time, so take returns those of the last one.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// take returns the warnings received since the last take.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}
