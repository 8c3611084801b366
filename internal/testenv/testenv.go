// Package testenv holds what the envtest suites of several packages share:
// starting a manager and waiting until it serves.
package testenv

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Run starts mgr and waits until ready passes, the manager stops, or
// timeout. stop cancels the manager and returns what Start returned; it is
// nil when Run fails because the manager stopped by itself.
func Run(mgr manager.Manager, ready healthz.Checker, timeout time.Duration) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stop = func() error {
		cancel()
		return <-done
	}
	deadline := time.Now().Add(timeout)
	for {
		err := ready(&http.Request{})
		if err == nil {
			return stop, nil
		}
		select {
		case err := <-done:
			cancel()
			return nil, fmt.Errorf("manager stopped: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return stop, fmt.Errorf("manager not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
