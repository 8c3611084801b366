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
	"net/http/httptrace"
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
func startWebhookServer(t *testing.T, enableHTTP2 bool) (string, *lifecycle) {
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
	port := freePort(t)
	life := &lifecycle{drainStarted: make(chan struct{})}
	srv := life.webhookServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir, TLSOpts: tlsOptions(enableHTTP2)})
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
	return fmt.Sprintf("127.0.0.1:%d", port), life
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

// When the drain starts no connection is closed under a caller: an idle
// keep-alive connection stays open, the next answer on it says
// Connection: close and the server closes it after that answer; a
// connection opened during the drain is served the same way.
func TestWebhookServerDrainClosesEachConnectionAfterItsAnswer(t *testing.T) {
	addr, life := startWebhookServer(t, false)
	idle, idleR := keepAlive(t, addr)

	life.draining.Store(true)
	close(life.drainStarted)

	_ = idle.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	if _, err := idleR.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("the idle connection was closed when the drain started (a caller may be writing on it): %v", err)
	}
	_ = idle.SetDeadline(time.Now().Add(5 * time.Second))
	if resp := request(t, idle, idleR); !resp.Close || resp.StatusCode != http.StatusOK {
		t.Errorf("on a kept connection during the drain: %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
	if _, err := idleR.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("the connection is not closed after its answer during the drain: %v", err)
	}

	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test server's self-signed certificate
	if err != nil {
		t.Fatalf("the server stopped serving during the drain: %v", err)
	}
	defer func() { _ = conn.Close() }()
	if resp := request(t, conn, bufio.NewReader(conn)); !resp.Close || resp.StatusCode != http.StatusOK {
		t.Errorf("on a new connection during the drain: %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
}

// Over HTTP/2 (--enable-http2) an answer during the drain sends GOAWAY:
// the request in flight is answered on the old connection and the
// caller's next one goes on a new connection.
func TestWebhookServerDrainSendsGoAwayOverHTTP2(t *testing.T) {
	addr, life := startWebhookServer(t, true)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true} //nolint:gosec // as above
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	post := func() (proto string, reused bool) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, "https://"+addr+"/hook", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Proto, reused
	}
	if proto, _ := post(); proto != "HTTP/2.0" {
		t.Fatalf("protocol %s, want HTTP/2.0", proto)
	}

	life.draining.Store(true)
	close(life.drainStarted)

	if _, reused := post(); !reused {
		t.Errorf("the connection open when the drain started was not kept for the next request")
	}
	time.Sleep(200 * time.Millisecond) // the GOAWAY reaches the client
	if _, reused := post(); reused {
		t.Errorf("after an answer during the drain the caller reused the connection (no GOAWAY)")
	}
}
