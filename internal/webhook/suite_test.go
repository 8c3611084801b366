package webhook_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// The suite runs the real manager (webhook server and every controller)
// against a real kube-apiserver, which calls the webhooks over TLS. The
// tests' clients are envtest's admin, a different identity from the
// manager's, so everything they send is judged.
var (
	e   *env
	wc  *warningClient // the admin, collecting warnings
	clk *clocktesting.FakeClock
	ctx = context.Background()
)

// suiteStart is the fake clock's start, as in the controllers suite: the
// sample campaign is Active and the sample exception unexpired.
var suiteStart = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestWebhooks(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	clk = clocktesting.NewFakeClock(suiteStart)
	var err error
	e, err = startEnv(envOptions{controllers: true, clock: clk})
	Expect(err).NotTo(HaveOccurred())
	wc, err = e.newWarningClient()
	Expect(err).NotTo(HaveOccurred())
	Expect(applySamples(ctx, e.client)).To(Succeed(), "the samples pass the webhooks")
})

var _ = AfterSuite(func() {
	Expect(e.stop()).To(Succeed())
})
