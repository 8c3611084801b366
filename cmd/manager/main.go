// Command manager runs the martech-guardrails operator: reconcilers,
// admission webhooks and the background audit, all over one policy engine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	martechv1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/status"
	"github.com/martech-guardrails/guardrails/internal/version"
	"github.com/martech-guardrails/guardrails/internal/webhook"
)

// webhookFlags configure the admission webhooks and their certificate.
type webhookFlags struct {
	enable              bool
	port                int
	certDir             string
	disableCertRotation bool
	namespace           string
	certSecret          string
	service             string
	validatingConfig    string
}

func (f *webhookFlags) bind(fs *flag.FlagSet) {
	fs.BoolVar(&f.enable, "enable-webhooks", true, "Serve the admission webhooks.")
	fs.IntVar(&f.port, "webhook-port", crwebhook.DefaultPort, "Port the webhook server listens on.")
	fs.StringVar(&f.certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "Directory holding the webhook serving certificate (tls.crt, tls.key).")
	fs.BoolVar(&f.disableCertRotation, "disable-cert-rotation", false, "Do not create, rotate and inject the serving certificate (cert-manager or another tool provides it in --webhook-cert-dir).")
	fs.StringVar(&f.namespace, "namespace", envOr("POD_NAMESPACE", "guardrails-system"), "The manager's namespace: of the webhook Service and certificate Secret, and always among the namespaces it reads Secret metadata in; $POD_NAMESPACE when set.")
	fs.StringVar(&f.certSecret, "webhook-cert-secret", "guardrails-webhook-server-cert", "Secret the certificate rotator writes the CA and serving certificate to.")
	fs.StringVar(&f.service, "webhook-service", "guardrails-webhook-service", "Service the API server calls the webhooks through; the serving certificate is issued for it.")
	fs.StringVar(&f.validatingConfig, "validating-webhook-configuration", "guardrails-validating-webhook-configuration", "ValidatingWebhookConfiguration whose caBundle the rotator keeps current.")
}

func main() {
	var (
		metricsAddr    string
		metricsSecure  bool
		metricsCertDir string
		enableHTTP2    bool
		credentialNS   namespaceList
		probeAddr      string
		leaderElect    bool
		leaderElectNS  string
		showVersion    bool
		policyTimeout  time.Duration
		requestBudget  time.Duration
		concurrency    int
		qps            float64
		burst          int
		gatekeeper     policyset.GatekeeperOptions
		perRequestCat  bool
		wh             webhookFlags
		life           lifecycle
		af             auditFlags
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint binds to; \"0\" disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS to callers the API server authenticates and authorizes for GET /metrics (the metrics-reader ClusterRole). false: plain HTTP to anyone, for local runs on a loopback address only.")
	flag.StringVar(&metricsCertDir, "metrics-cert-dir", "", "Directory holding the metrics serving certificate (tls.crt, tls.key), reloaded when it changes; empty: a self-signed certificate made at start.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve the webhooks and metrics over HTTP/2 too (off: HTTP/2 rapid reset, CVE-2023-44487).")
	flag.Var(&credentialNS, "credential-namespaces", "Comma-separated namespaces whose Secrets' metadata the manager reads for credential age (each needs config/rbac/credential-reader applied); the manager's own namespace is always read. Elsewhere credential age is unknown. Default: none.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Enable leader election so only one manager is active.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: the manager's namespace).")
	flag.DurationVar(&policyTimeout, "policy-timeout", policy.DefaultTimeout, "Time budget of one policy evaluating one object.")
	flag.DurationVar(&requestBudget, "request-budget", policy.DefaultRequestBudget, "Time budget of one evaluation request: the object and every SaaSIntegration it references, all policies together (keep it below the webhooks' 5s timeout).")
	flag.IntVar(&concurrency, "workload-concurrency", controllers.DefaultWorkloadConcurrency, "MarketingWorkloads reconciled at once.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Client-side limit of requests per second to the API server (client-go's default of 20 would throttle the workload reconciles).")
	flag.IntVar(&burst, "kube-api-burst", 100, "Client-side burst of requests to the API server.")
	flag.BoolVar(&gatekeeper.Disabled, "disable-gatekeeper", false, "Do not read Gatekeeper's ConstraintTemplates and constraints (read by default where Gatekeeper's CRDs are served, to judge the children of MarketingWorkloads before they are provisioned).")
	flag.DurationVar(&gatekeeper.Recheck, "gatekeeper-recheck", policyset.DefaultGatekeeperRecheck, "How often to look again for Gatekeeper's CRDs while they are not served (Gatekeeper installed after the operator, a constraint CRD not made yet).")
	flag.BoolVar(&perRequestCat, "per-request-catalogue", false, "List and convert the vendor catalogue for every reconcile and admission request instead of sharing the one kept converted, incrementally, from the Vendor informer (an opt-out, for comparison).")
	flag.BoolVar(&showVersion, "version", false, "Print the version and exit.")
	wh.bind(flag.CommandLine)
	life.bind(flag.CommandLine)
	af.bind(flag.CommandLine)
	opts := zap.Options{Development: true}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	if showVersion {
		fmt.Println(version.String("manager"))
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(martechv1alpha1.AddToScheme(scheme))
	utilruntime.Must(addAuditScheme(scheme))

	tlsOpts := tlsOptions(enableHTTP2)
	if !metricsSecure {
		log.Info("metrics are served over plain HTTP without authentication (--metrics-secure=false): for local runs only", "address", metricsAddr)
	}
	webhookPort := wh.port
	if !wh.enable {
		webhookPort = -1
	}
	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS, restCfg.Burst = float32(qps), burst
	secretNamespaces, err := credentialNamespaces(restCfg, scheme, withNamespace(credentialNS, wh.namespace))
	if err != nil {
		log.Error(err, "unable to tell which namespaces' Secrets the manager may read")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOptions(metricsAddr, metricsSecure, metricsCertDir, tlsOpts),
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "guardrails.martech.guardrails.dev",
		LeaderElectionNamespace: leaderElectNS,
		// A stopping leader hands the controllers over at once (lifecycle.go).
		LeaderElectionReleaseOnCancel: true,
		WebhookServer:                 life.webhookServer(crwebhook.Options{Port: webhookPort, CertDir: wh.certDir, TLSOpts: tlsOpts}),
		// What the operator owns and reads, not the cluster: children by
		// label, Secret metadata in secretNamespaces only (credentials.go),
		// no managedFields (controllers/cache.go).
		Cache:     controllers.CacheOptions(secretNamespaces),
		NewClient: credentialClient(secretNamespaces),
	})
	if err != nil {
		log.Error(err, "unable to create manager")
		os.Exit(1)
	}
	engine, err := policy.New(policy.Options{Timeout: policyTimeout, RequestBudget: requestBudget, Registerer: crmetrics.Registry})
	if err != nil {
		log.Error(err, "the built-in policies do not compile")
		os.Exit(1)
	}
	// One loader owns the engine's GuardrailPolicies and Gatekeeper set,
	// for the controllers and the webhooks alike.
	policies := policyset.New(engine).WithGatekeeper(gatekeeper)
	// The reconcilers alone write status; the audit asks them through
	// rejudge to judge again an object whose recorded verdict is stale.
	rejudge := status.NewRejudge()
	if err := controllers.SetupAll(mgr, controllers.Options{Engine: engine, Policies: policies, Rejudge: rejudge, Registerer: crmetrics.Registry, WorkloadConcurrency: concurrency, PerRequestCatalogue: perRequestCat}); err != nil {
		log.Error(err, "unable to set up controllers")
		os.Exit(1)
	}
	if err := setupAudit(mgr, engine, policies, rejudge, af); err != nil {
		log.Error(err, "unable to set up the audit")
		os.Exit(1)
	}
	if err := life.addChecks(mgr); err != nil {
		log.Error(err, "unable to set up the health and readiness checks")
		os.Exit(1)
	}
	if wh.enable {
		if err := setupWebhooks(mgr, policies, wh, perRequestCat); err != nil {
			log.Error(err, "unable to set up the webhooks")
			os.Exit(1)
		}
	}

	log.Info("manager started", "version", version.Version, "webhooks", wh.enable)
	if err := mgr.Start(life.signalContext()); err != nil {
		log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

// setupWebhooks registers the webhooks, at once when the certificate comes
// from elsewhere, or once the rotator has written and injected it (the
// webhook server cannot start without it). Readiness waits for them.
func setupWebhooks(mgr ctrl.Manager, policies *policyset.Loader, f webhookFlags, perRequestCatalogue bool) error {
	log := ctrl.Log.WithName("setup")
	self, err := webhook.SelfUsername(context.Background(), mgr.GetClient())
	if err != nil {
		log.Error(err, "could not learn the operator's own username; its requests are judged like anyone's")
	} else {
		log.Info("requests from the operator itself are never judged", "username", self)
	}
	hooks, err := webhook.New(webhook.Options{Engine: policies.Engine(), Policies: policies, ExemptUsernames: []string{self}, PerRequestCatalogue: perRequestCatalogue})
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhooks", hooks.ReadyChecker()); err != nil {
		return err
	}
	if f.disableCertRotation {
		return hooks.SetupWithManager(mgr)
	}
	ready, err := webhook.AddCertRotation(mgr, webhook.CertOptions{
		Namespace:               f.namespace,
		SecretName:              f.certSecret,
		ServiceName:             f.service,
		CertDir:                 f.certDir,
		ValidatingConfiguration: f.validatingConfig,
	})
	if err != nil {
		return err
	}
	go func() {
		<-ready
		log.Info("serving certificate ready; starting the webhook server")
		if err := hooks.SetupWithManager(mgr); err != nil {
			log.Error(err, "unable to register the webhooks")
			os.Exit(1)
		}
	}()
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
