package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// drainingServer is the webhook server. Registration and the handlers'
// metrics are controller-runtime's (its DefaultServer's mux); serving is
// ours, because controller-runtime does not expose its http.Server and a
// drain needs it. While the replica drains, every response says
// Connection: close: over HTTP/1.1 (the default) the connection closes
// after that response, over HTTP/2 (--enable-http2) the server sends
// GOAWAY; either way the caller's next request goes on a new connection,
// through the Service, to a ready replica. No connection is
// closed under a caller's feet at the drain's start: turning keep-alives
// off there (http.Server.SetKeepAlivesEnabled) closed idle connections at
// once, and a create whose stream was on its way on one failed with EOF
// (test/ha, 2-3 of 5,000 creates). When the manager stops, Shutdown sends
// GOAWAY on the HTTP/2 connections left and lets the requests in flight
// finish.
type drainingServer struct {
	crwebhook.Server // Register, WebhookMux: controller-runtime's
	opts             crwebhook.Options
	draining         *atomic.Bool
	drainStarted     <-chan struct{}

	mu      sync.Mutex
	started bool
}

// newDrainingServer returns the webhook server for opts; drainStarted is
// closed when the drain starts, draining set from then on.
func newDrainingServer(opts crwebhook.Options, draining *atomic.Bool, drainStarted <-chan struct{}) *drainingServer {
	if opts.WebhookMux == nil {
		opts.WebhookMux = http.NewServeMux()
	}
	if opts.Port == 0 {
		opts.Port = crwebhook.DefaultPort
	}
	if opts.CertDir == "" {
		opts.CertDir = filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
	if opts.CertName == "" {
		opts.CertName = "tls.crt"
	}
	if opts.KeyName == "" {
		opts.KeyName = "tls.key"
	}
	return &drainingServer{Server: crwebhook.NewServer(opts), opts: opts, draining: draining, drainStarted: drainStarted}
}

// Register registers hook; while the replica drains its responses say
// Connection: close, so callers stop reusing connections to it.
func (s *drainingServer) Register(path string, hook http.Handler) {
	s.Server.Register(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		hook.ServeHTTP(w, r)
	}))
}

func (s *drainingServer) addr() string {
	return net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
}

// Start serves the webhooks over TLS (the certificate reloaded when it
// changes) until ctx is done, then shuts down, letting the requests in
// flight finish.
func (s *drainingServer) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("webhook-server")
	if s.opts.Port < 0 {
		log.Info("webhook server is disabled")
		return nil
	}
	cfg := &tls.Config{NextProtos: []string{"h2"}}
	for _, op := range s.opts.TLSOpts {
		op(cfg)
	}
	if cfg.GetCertificate == nil {
		w, err := certwatcher.New(filepath.Join(s.opts.CertDir, s.opts.CertName), filepath.Join(s.opts.CertDir, s.opts.KeyName))
		if err != nil {
			return err
		}
		cfg.GetCertificate = w.GetCertificate
		go func() {
			if err := w.Start(ctx); err != nil {
				log.Error(err, "certificate watcher error")
			}
		}()
	}
	listener, err := tls.Listen("tcp", s.addr(), cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return ctx },
		Handler:           s.WebhookMux(),
		MaxHeaderBytes:    1 << 20,
		IdleTimeout:       90 * time.Second,
		ReadHeaderTimeout: 32 * time.Second,
	}
	stopped := make(chan struct{})
	go func() { //nolint:gosec // runs after ctx is done: Shutdown needs a context of its own

		defer close(stopped)
		select {
		case <-s.drainStarted:
			log.Info("draining: responses say Connection: close (GOAWAY over HTTP/2)")
			<-ctx.Done()
		case <-ctx.Done():
		}
		log.Info("shutting down the webhook server (1 minute at most)")
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error(err, "shutting down the webhook server")
		}
	}()
	log.Info("serving webhooks", "address", s.addr())
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	return nil
}

// StartedChecker passes once the server accepts TLS connections.
func (s *drainingServer) StartedChecker() healthz.Checker {
	cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // only checks that the server accepts connections
	return func(*http.Request) error {
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if s.opts.Port < 0 {
			return nil
		}
		if !started {
			return errors.New("webhook server has not been started yet")
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.addr(), cfg)
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}
