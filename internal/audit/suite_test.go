package audit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/audit"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// The suite runs a real manager with the policy loader, every reconciler
// and two auditors (no webhooks: a raw Deployment is created as the guard
// being off would let it) against a real kube-apiserver and etcd with both report APIs
// installed: the openreports.io auditor keeps up to 500 results per report,
// the wgpolicyk8s.io one 3. Assertions read through k8sClient, uncached.
var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	clk       *clocktesting.FakeClock
	auditor   *audit.Auditor
	capped    *audit.Auditor
	registry  *prometheus.Registry
	passes    <-chan audit.Stats
	stopMgr   context.CancelFunc
)

const capResults = 3

func TestAudit(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Audit Suite")
}

func assets() string {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "k8s")
	}
	_, err := os.Stat(filepath.Join(dir, "kube-apiserver"))
	Expect(err).NotTo(HaveOccurred(), "kube-apiserver not found in %s: run `make envtest-bins`", dir)
	return dir
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	utilruntime.Must(openreportsv1alpha1.Install(s))
	return s
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme = newScheme()
	testEnv = &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join("..", "..", "config", "crd", "bases"),
			filepath.Join("..", "..", "config", "reports", "openreports"),
			filepath.Join("..", "..", "config", "reports", "wgpolicyk8s"),
		},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets(),
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	clk = clocktesting.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	registry = prometheus.NewRegistry()
	auditor, capped = startAuditors(cfg, audit.ReportAPIOpenReports, registry, -1)
})

// startAuditors starts a manager with the loader and the suite's auditors
// (capped only when api is openreports.io).
func startAuditors(cfg *rest.Config, api string, reg *prometheus.Registry, interval time.Duration) (*audit.Auditor, *audit.Auditor) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// The manager's own cache: only the children it renders, so the
		// audit must find raw Deployments past it.
		Cache: controllers.CacheOptions(nil),
		// The second environment's manager runs the same controllers.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	engine, err := policy.New(policy.Options{Timeout: 10 * time.Second})
	Expect(err).NotTo(HaveOccurred())
	loader := policyset.New(engine)
	// One Rejudge for the reconcilers and the auditors, as cmd/manager
	// wires them.
	rejudge := status.NewRejudge()
	Expect(controllers.SetupAll(mgr, controllers.Options{Engine: engine, Policies: loader, Rejudge: rejudge, Clock: clk})).To(Succeed())
	main, err := audit.New(audit.Options{Engine: engine, Policies: loader, Rejudge: rejudge, Clock: clk, Interval: interval, ReportAPI: api, Registerer: reg, Debounce: 50 * time.Millisecond})
	Expect(err).NotTo(HaveOccurred())
	passes = main.Passes()
	Expect(main.SetupWithManager(mgr)).To(Succeed())
	var second *audit.Auditor
	if api == audit.ReportAPIOpenReports {
		second, err = audit.New(audit.Options{Engine: engine, Policies: loader, Rejudge: rejudge, Clock: clk, Interval: -1, ReportAPI: audit.ReportAPIWGPolicy, MaxResults: capResults, Debounce: 50 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		Expect(second.SetupWithManager(mgr)).To(Succeed())
	}
	var ctx context.Context
	ctx, stopMgr = context.WithCancel(context.Background()) //nolint:gosec // G118: stopMgr is called by AfterSuite
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return main, second
}

var _ = AfterSuite(func() {
	if stopMgr != nil {
		stopMgr()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// applySamples creates every object of config/samples/.
func applySamples(ctx context.Context, c client.Client) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	sort.Strings(files)
	Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred(), f)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, u); !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred(), "%s: %s %s", f, u.GetKind(), u.GetName())
			}
		}
	}
}
