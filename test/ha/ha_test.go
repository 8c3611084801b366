// Package ha_test runs two real manager processes (bin/manager built from
// cmd/manager) against envtest behind one webhook address, the way a
// Service sends admission requests to the ready replicas of the Deployment,
// and checks that a stream of creates has no failure while each manager in
// turn is stopped with SIGTERM and started again, and that stopping the
// leader hands the controllers to the other within the lease time.
package ha_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

const (
	namespace = "guardrails-system"
	// The manager's lease (cmd/manager LeaderElectionID).
	leaseName = "guardrails.martech.guardrails.dev"
	// controller-runtime's default LeaseDuration.
	leaseDuration = 15 * time.Second
	drain         = 2 * time.Second
	// The create stream: streamWorkers goroutines, each creating a Vendor
	// every streamPause, through both rolling restarts and on until
	// minCreates creates were made.
	streamWorkers = 4
	streamPause   = 10 * time.Millisecond
	minCreates    = 5000
)

var (
	testEnv    *envtest.Environment
	c          client.Client // an ordinary user: its creates are judged
	scheme     = runtime.NewScheme()
	ctx        = context.Background()
	managerBin string
	kubeconfig string
	workDir    string
)

func TestHA(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "HA Suite")
}

// The repository's paths and envtest's binaries, as every suite finds them.
var (
	repoPath = testenv.RepoPath
	assets   = testenv.Assets
)

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	workDir = GinkgoT().TempDir()

	managerBin = filepath.Join(workDir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, "../../cmd/manager")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build ./cmd/manager: %s", out)

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{repoPath("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets(),
		// The webhook configurations of config/webhook, pointed by envtest
		// at LocalServingHost:LocalServingPort: the proxy below.
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{repoPath("config", "webhook")}},
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	// The stream's client is not throttled (client-go's default is 5
	// requests a second): the webhooks are what is under load.
	userCfg := rest.CopyConfig(cfg)
	userCfg.QPS, userCfg.Burst = 500, 1000
	c, err = client.New(userCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgrUser, err := testEnv.AddUser(envtest.User{Name: "guardrails-manager", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kc, err := mgrUser.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, kc, 0o600)).To(Succeed())

	Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// manager is one replica: a bin/manager process with its own webhook and
// probe ports.
type manager struct {
	name                   string
	webhookPort, probePort int
	cmd                    *exec.Cmd
	log                    *os.File
	exited                 chan struct{}
	exitErr                error
}

func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	Expect(ok).To(BeTrue(), "a tcp listener's address %v is a %T", l.Addr(), l.Addr())
	return addr.Port
}

func newManager(name string) *manager {
	return &manager{name: name, webhookPort: freePort(), probePort: freePort()}
}

func (m *manager) start() {
	GinkgoHelper()
	var err error
	m.log, err = os.OpenFile(filepath.Join(workDir, m.name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(managerBin,
		"--leader-elect", "--leader-election-namespace="+namespace, "--namespace="+namespace,
		"--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", m.probePort),
		fmt.Sprintf("--webhook-port=%d", m.webhookPort),
		"--webhook-cert-dir="+testEnv.WebhookInstallOptions.LocalServingCertDir,
		"--disable-cert-rotation",
		"--shutdown-drain="+drain.String(),
	)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.SysProcAttr = dieWithTest()
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	Expect(m.cmd.Start()).To(Succeed())
	m.exited = make(chan struct{})
	go func() {
		m.exitErr = m.cmd.Wait()
		_ = m.log.Close()
		close(m.exited)
	}()
}

func (m *manager) ready() bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", m.probePort))
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func (m *manager) waitReady() {
	GinkgoHelper()
	Eventually(m.ready).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(), "%s ready; log:\n%s", m.name, m.tail())
}

// stop sends SIGTERM, as the kubelet does, and waits for the exit.
func (m *manager) stop() {
	GinkgoHelper()
	Expect(m.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	Eventually(m.exited).WithTimeout(30*time.Second).Should(BeClosed(), "%s exits after SIGTERM; log:\n%s", m.name, m.tail())
	Expect(m.exitErr).NotTo(HaveOccurred(), "%s exit; log:\n%s", m.name, m.tail())
}

func (m *manager) kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

func (m *manager) tail() string {
	b, _ := os.ReadFile(filepath.Join(workDir, m.name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// proxy stands for the webhook Service: it listens where the webhook
// configurations point and passes each connection (TLS and all) to a
// replica whose readiness probe passed at the last poll, as the endpoints
// of a Service hold only ready pods. Connections already open stay with
// their replica, as with kube-proxy.
type proxy struct {
	listener net.Listener
	backends []*manager
	mu       sync.Mutex
	ready    []*manager
	next     atomic.Uint64
	stopped  chan struct{}
	noReady  atomic.Int64 // connections refused: no replica was ready
}

func startProxy(backends ...*manager) *proxy {
	GinkgoHelper()
	wio := testEnv.WebhookInstallOptions
	l, err := net.Listen("tcp", net.JoinHostPort(wio.LocalServingHost, fmt.Sprint(wio.LocalServingPort)))
	Expect(err).NotTo(HaveOccurred())
	p := &proxy{listener: l, backends: backends, stopped: make(chan struct{})}
	go p.poll()
	go p.serve()
	return p
}

func (p *proxy) poll() {
	for {
		var ready []*manager
		for _, b := range p.backends {
			if b.ready() {
				ready = append(ready, b)
			}
		}
		p.mu.Lock()
		p.ready = ready
		p.mu.Unlock()
		select {
		case <-p.stopped:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *proxy) serve() {
	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return
		}
		go p.pass(conn)
	}
}

func (p *proxy) pass(in net.Conn) {
	defer func() { _ = in.Close() }()
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	if len(ready) == 0 {
		p.noReady.Add(1)
		return
	}
	b := ready[p.next.Add(1)%uint64(len(ready))]
	out, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.webhookPort))
	if err != nil {
		return
	}
	defer func() { _ = out.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
	<-done
}

func (p *proxy) stop() {
	close(p.stopped)
	_ = p.listener.Close()
}

// vendor is an approved Vendor the built-in policies allow (as the
// samples' hubspot).
func vendor(name string) *v1alpha1.Vendor {
	GinkgoHelper()
	v := &v1alpha1.Vendor{}
	Expect(yaml.Unmarshal([]byte(fmt.Sprintf(`
apiVersion: martech.guardrails.dev/v1alpha1
kind: Vendor
metadata:
  name: %s
spec:
  displayName: HA vendor %s
  category: crm
  status: approved
  domains: [%s.example]
  allowedDataCategories: [user.contact]
  allowedDataUses: [marketing.communications]
  processingRegions: [eu]
  dpa:
    signed: true
    reference: PROC-HA-1
    expires: "2099-03-31T00:00:00Z"
  securityReview:
    completed: true
    expires: "2099-09-30T00:00:00Z"
`, name, name, name)), v)).To(Succeed())
	return v
}

func leaseHolder() string {
	var l coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: leaseName}, &l); err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// stream creates Vendors on workers goroutines, each waiting pause
// between its creates, until stopped, counting the creates that failed
// and keeping their errors.
type stream struct {
	created, failed atomic.Int64
	next            atomic.Int64
	mu              sync.Mutex
	errs            []string
	stop            chan struct{}
	done            chan struct{}
	began           time.Time
}

func startStream(prefix string, workers int, pause time.Duration) *stream {
	s := &stream{stop: make(chan struct{}), done: make(chan struct{}), began: time.Now()}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				case <-time.After(pause):
				}
				i := s.next.Add(1)
				if err := c.Create(ctx, vendor(fmt.Sprintf("%s-%05d", prefix, i))); err != nil {
					s.failed.Add(1)
					s.mu.Lock()
					s.errs = append(s.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
					s.mu.Unlock()
					continue
				}
				s.created.Add(1)
			}
		})
	}
	go func() {
		<-s.stop
		wg.Wait()
		close(s.done)
	}()
	return s
}

func (s *stream) end() {
	close(s.stop)
	<-s.done
}

var _ = Describe("two managers behind one webhook address", Ordered, func() {
	var a, b *manager
	var p *proxy

	BeforeAll(func() {
		a, b = newManager("manager-a"), newManager("manager-b")
		p = startProxy(a, b)
		DeferCleanup(func() {
			p.stop()
			a.kill()
			b.kill()
		})
	})

	It("judges creates through either replica: a create the policies deny is denied", func() {
		a.start()
		a.waitReady()
		// a starts first, so it leads.
		Eventually(leaseHolder).WithTimeout(leaseDuration).ShouldNot(BeEmpty())
		b.start()
		b.waitReady()
		bad := vendor("ha-unknown-category")
		bad.Spec.AllowedDataCategories = append(bad.Spec.AllowedDataCategories, "user.no_such_category")
		err := c.Create(ctx, bad)
		Expect(err).To(HaveOccurred(), "the webhook judges: a taxonomy key the standard does not know is denied")
		Expect(err.Error()).To(ContainSubstring("denied the request"))
	})

	It("fails no create while each replica in turn is stopped with SIGTERM and started again; the leader's stop hands the controllers over within the lease time", func() {
		s := startStream("ha", streamWorkers, streamPause)
		time.Sleep(2 * time.Second)

		leader := leaseHolder()
		Expect(leader).NotTo(BeEmpty())
		stopped := time.Now()
		a.stop() // the leader
		Eventually(func() string { return leaseHolder() }).WithTimeout(leaseDuration).WithPolling(100*time.Millisecond).
			ShouldNot(Or(Equal(leader), BeEmpty()), "b takes the lease; b's log:\n%s", b.tail())
		handover := time.Since(stopped)
		fmt.Fprintf(GinkgoWriter, "leader handover %.1fs after SIGTERM (drain %s)\n", handover.Seconds(), drain)
		AddReportEntry("leader handover after SIGTERM", handover.String())

		// The new leader runs the controllers: a PolicyException created
		// now gets its status from b. (Not a Vendor: b's vendor queue
		// starts with every Vendor the stream made, hundreds by now, each
		// judged against the whole catalogue; how long that takes is the
		// engine's cost, measured by the benchmarks, not the handover.)
		pex := &v1alpha1.PolicyException{
			ObjectMeta: metav1.ObjectMeta{Name: "ha-after-handover", Namespace: namespace},
			Spec: v1alpha1.PolicyExceptionSpec{
				Policies:   []string{"vendor-approved"},
				Targets:    []v1alpha1.ExceptionTarget{{Kind: v1alpha1.TargetKind(v1alpha1.KindSaaSIntegration), Name: "ha-pilot"}},
				Reason:     "HA test: the new leader reconciles",
				ApprovedBy: "it@acme.example",
				ExpiresAt:  metav1.NewTime(time.Now().Add(24 * time.Hour).Truncate(time.Second)),
			},
		}
		Expect(c.Create(ctx, pex)).To(Succeed())
		Eventually(func(g Gomega) {
			var got v1alpha1.PolicyException
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(pex), &got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}).WithTimeout(30*time.Second).Should(Succeed(), "b reconciles; log:\n%s", b.tail())

		a.start()
		a.waitReady()
		time.Sleep(time.Second)
		b.stop()
		b.start()
		b.waitReady()
		time.Sleep(2 * time.Second)
		// The stream runs on to minCreates: enough creates for a failure
		// one in a thousand to show.
		Eventually(func() int64 { return s.created.Load() + s.failed.Load() }).
			WithTimeout(10 * time.Minute).WithPolling(time.Second).Should(BeNumerically(">=", minCreates))
		s.end()
		took := time.Since(s.began)

		figures := fmt.Sprintf("%d creates: %d succeeded, %d failed, in %.0fs (%.0f/s)",
			s.created.Load()+s.failed.Load(), s.created.Load(), s.failed.Load(), took.Seconds(), float64(s.created.Load()+s.failed.Load())/took.Seconds())
		fmt.Fprintln(GinkgoWriter, figures)
		AddReportEntry("creates during two rolling restarts", figures)
		Expect(s.errs).To(BeEmpty(), "failed creates; a's log:\n%s\nb's log:\n%s", a.tail(), b.tail())
		Expect(s.created.Load()).To(BeNumerically(">=", minCreates), "the stream ran through both restarts")
		Expect(p.noReady.Load()).To(BeZero(), "some replica was always ready")
	})

	It("was judged by the webhooks all along: creates through a stopped pair fail", func() {
		a.stop()
		b.stop()
		Eventually(func() bool { return a.ready() || b.ready() }).Should(BeFalse())
		time.Sleep(500 * time.Millisecond) // the proxy's next poll
		err := c.Create(ctx, vendor("ha-no-replica"))
		Expect(err).To(HaveOccurred(), "our kinds fail closed")
		Expect(bytes.Contains([]byte(err.Error()), []byte("failed calling webhook"))).To(BeTrue(), err.Error())
	})
})
