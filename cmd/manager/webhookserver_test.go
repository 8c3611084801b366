package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	certutil "k8s.io/client-go/util/cert"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
)

// startWebhookServer starts the manager's webhook server with a
// self-signed certificate and one handler on /hook; it returns its
// address and lifecycle.
func startWebhookServer(t *testing.T) (string, *lifecycle, context.CancelFunc) {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	life := &lifecycle{drainStarted: make(chan struct{})}
	srv := life.webhookServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir, TLSOpts: tlsOptions(false)})
	srv.Register("/hook", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	started := srv.StartedChecker()
	for deadline := time.Now().Add(10 * time.Second); started(nil) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the webhook server did not start")
		}
	}
	return fmt.Sprintf("127.0.0.1:%d", port), life, cancel
}

// keepAlive opens a connection and makes one request on it, which keeps
// it open.
func keepAlive(t *testing.T, addr string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test server's self-signed certificate
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r := bufio.NewReader(conn)
	if resp := request(t, conn, r); resp.Close {
		t.Fatalf("before the drain the connection is not kept: %v", resp.Header)
	}
	return conn, r
}

func request(t *testing.T, conn net.Conn, r *bufio.Reader) *http.Response {
	t.Helper()
	if _, err := io.WriteString(conn, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// When the drain starts the idle keep-alive connections are closed at
// once, while the server still serves (not when the manager stops, under a
// caller that picked one meanwhile), and every response says
// Connection: close.
func TestWebhookServerDrainClosesIdleConnections(t *testing.T) {
	addr, life, _ := startWebhookServer(t)
	idle, idleR := keepAlive(t, addr)
	busy, busyR := keepAlive(t, addr)

	life.draining.Store(true)
	close(life.drainStarted)

	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idleR.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("the idle connection is not closed when the drain starts: %v", err)
	}
	// A connection that was busy, or one opened during the drain, gets
	// its answer and Connection: close. (busy was idle too: it may have
	// been closed already, which is as good.)
	_ = busy.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(busy, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"); err == nil {
		if resp, err := http.ReadResponse(busyR, nil); err == nil && !resp.Close {
			t.Errorf("a response during the drain keeps the connection: %v", resp.Header)
		}
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // as above
	if err != nil {
		t.Fatalf("the server stopped serving during the drain: %v", err)
	}
	defer func() { _ = conn.Close() }()
	if resp := request(t, conn, bufio.NewReader(conn)); !resp.Close || resp.StatusCode != http.StatusOK {
		t.Errorf("during the drain: %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
}
