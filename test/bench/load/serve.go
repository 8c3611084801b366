package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/clientcmd"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

// readyLine is what the webhook process prints on stdout once it serves.
const readyLine = "webhooks ready"

// serveFlags configure the webhook process (-serve), which the driver
// starts as a child of itself.
type serveFlags struct {
	kubeconfig    string
	host          string
	port          int
	certDir       string
	policyTimeout time.Duration
}

func (f *serveFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "manager-kubeconfig", "", "(-serve) the manager identity's kubeconfig")
	fs.StringVar(&f.host, "webhook-host", "127.0.0.1", "(-serve) address the webhook server listens on")
	fs.IntVar(&f.port, "webhook-port", 0, "(-serve) port the webhook server listens on")
	fs.StringVar(&f.certDir, "webhook-cert-dir", "", "(-serve) directory of the webhook serving certificate (tls.crt, tls.key)")
	fs.DurationVar(&f.policyTimeout, "policy-timeout", 0, "time budget of one policy on one object (0: the manager's default, "+policy.DefaultTimeout.String()+")")
}

// serve runs the manager with the real webhooks and the no-op handler (no
// controllers) until SIGTERM or SIGINT. It is a process of its own so that
// its CPU time and peak RSS are the webhooks' alone, not the load
// generator's.
func serve(f serveFlags) error {
	if f.kubeconfig == "" || f.port == 0 || f.certDir == "" {
		return errors.New("-serve needs -manager-kubeconfig, -webhook-port and -webhook-cert-dir")
	}
	logf.SetLogger(logr.Discard())
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return fmt.Errorf("-manager-kubeconfig %s: %w", f.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m, err := webhookenv.StartManager(webhookenv.ManagerOptions{
		Config:  cfg,
		Serving: webhookenv.Serving{Host: f.host, Port: f.port, CertDir: f.certDir},
		Engine:  policy.Options{Timeout: f.policyTimeout},
		NoOp:    true,
	})
	if err != nil {
		if m != nil && m.Stop != nil {
			err = errors.Join(err, m.Stop())
		}
		return err
	}
	fmt.Println(readyLine)
	<-ctx.Done()
	return m.Stop()
}
