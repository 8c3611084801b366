package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/martech-guardrails/guardrails/internal/testenv/webhookenv"
)

// webhookProcess is the child serving the webhooks (serve).
type webhookProcess struct {
	cmd  *exec.Cmd
	done chan error // Wait's result
}

// startWebhookProcess starts this binary with -serve and waits (2 minutes
// at most) until it reports that the webhooks serve. The child is killed
// if this process dies first.
func startWebhookProcess(ctx context.Context, kubeconfig string, s webhookenv.Serving, policyTimeout time.Duration) (*webhookProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	cmd := exec.Command(self, "-serve", "-manager-kubeconfig", kubeconfig,
		"-webhook-host", s.Host, "-webhook-port", strconv.Itoa(s.Port), "-webhook-cert-dir", s.CertDir,
		"-policy-timeout", policyTimeout.String())
	cmd.Stdout = &lineWatcher{want: readyLine, seen: ready}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the webhook process: %w", err)
	}
	p := &webhookProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	select {
	case <-ready:
		return p, nil
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("the webhook process stopped before serving: %w", err)
	case <-time.After(2 * time.Minute):
		return p, errors.New("the webhook process did not serve within 2 minutes")
	case <-ctx.Done():
		return p, ctx.Err()
	}
}

func (p *webhookProcess) pid() int { return p.cmd.Process.Pid }

// stop asks the child to stop and kills it after 10 seconds.
func (p *webhookProcess) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill() // it did not stop by itself; Wait reports below
		return fmt.Errorf("the webhook process did not stop in 10s, killed: %w", <-p.done)
	}
}

// lineWatcher closes seen when a line equal to want is written, and passes
// every other line to stderr.
type lineWatcher struct {
	want string
	seen chan struct{}
	mu   sync.Mutex
	buf  []byte
	once sync.Once
}

func (w *lineWatcher) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if line == w.want {
			w.once.Do(func() { close(w.seen) })
			continue
		}
		fmt.Fprintln(os.Stderr, "webhook process:", line)
	}
}
