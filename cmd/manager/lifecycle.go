package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// lifecycle is how a replica starts and stops without failing an admission
// request (Gatekeeper #3776: requests failed while pods of a 3-replica
// install started and stopped):
//
//   - ready only once its webhooks are registered with a certificate, its
//     policy set is loaded (webhook.ReadyChecker) and its informer caches
//     have synced (cachesSynced), so no Service sends it a request before;
//   - on SIGTERM or SIGINT it turns unready at once, keeps serving admission
//     requests for --shutdown-drain while the endpoints drop it (answering
//     each with Connection: close, so callers stop reusing connections to
//     it), and only then stops the manager, which finishes in-flight
//     requests, stops the controllers and releases the leader lease.
//
// A second signal exits at once.
type lifecycle struct {
	drain    time.Duration
	draining atomic.Bool
	// drainStarted is closed when the drain starts (the webhook server
	// logs it; its answers say Connection: close while draining is set).
	drainStarted chan struct{}
}

// defaultShutdownDrain is below the Deployment's
// terminationGracePeriodSeconds (30) with room for the manager's own stop.
const defaultShutdownDrain = 5 * time.Second

func (l *lifecycle) bind(fs *flag.FlagSet) {
	l.drainStarted = make(chan struct{})
	fs.DurationVar(&l.drain, "shutdown-drain", defaultShutdownDrain, "On SIGTERM, how long the replica reports unready but keeps serving admission requests before it stops (keep it below the pod's terminationGracePeriodSeconds); 0 stops at once.")
}

// signalContext is cancelled l.drain after the first SIGTERM or SIGINT;
// readiness fails from the signal on.
func (l *lifecycle) signalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		sig := <-sigs
		l.draining.Store(true)
		close(l.drainStarted)
		ctrl.Log.WithName("shutdown").Info("stopping: unready, still serving admission requests while draining", "signal", sig.String(), "drain", l.drain)
		select {
		case <-time.After(l.drain):
		case <-sigs:
			os.Exit(1)
		}
		ctrl.Log.WithName("shutdown").Info("drained; stopping the manager")
		cancel()
		<-sigs
		os.Exit(1)
	}()
	return ctx
}

// errDraining is the readiness failure of a stopping replica.
var errDraining = errors.New("shutting down: draining admission requests")

func (l *lifecycle) notDraining(*http.Request) error {
	if l.draining.Load() {
		return errDraining
	}
	return nil
}

// addChecks adds the liveness check and the readiness checks that do not
// belong to the webhooks: not draining, caches synced.
func (l *lifecycle) addChecks(mgr ctrl.Manager) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("shutdown", l.notDraining); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("caches", cachesSynced(mgr.GetCache()))
}

// cachesSynced passes once the manager's informers have synced (it waits
// briefly per probe; once synced it stays so).
func cachesSynced(c cache.Cache) healthz.Checker {
	var synced atomic.Bool
	return func(req *http.Request) error {
		if synced.Load() {
			return nil
		}
		ctx, cancel := context.WithTimeout(req.Context(), 200*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced yet")
		}
		synced.Store(true)
		return nil
	}
}

// webhookServer is the webhook server for opts, answering with
// Connection: close and closing its idle connections while the replica
// drains (webhookserver.go).
func (l *lifecycle) webhookServer(opts crwebhook.Options) crwebhook.Server {
	if l.drainStarted == nil {
		l.drainStarted = make(chan struct{})
	}
	return newDrainingServer(opts, &l.draining, l.drainStarted)
}
