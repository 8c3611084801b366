package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"
)

func TestTLSOptions(t *testing.T) {
	apply := func(opts []func(*tls.Config)) *tls.Config {
		c := &tls.Config{NextProtos: []string{"h2"}} // what controller-runtime starts from
		for _, o := range opts {
			o(c)
		}
		return c
	}
	c := apply(tlsOptions(false))
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %#x, want TLS 1.2 (%#x)", c.MinVersion, tls.VersionTLS12)
	}
	if strings.Join(c.NextProtos, ",") != "http/1.1" {
		t.Errorf("NextProtos = %v without --enable-http2, want [http/1.1]", c.NextProtos)
	}
	c = apply(tlsOptions(true))
	if c.MinVersion != tls.VersionTLS12 {
		t.Errorf("with --enable-http2: MinVersion = %#x, want TLS 1.2", c.MinVersion)
	}
	if strings.Join(c.NextProtos, ",") != "h2" {
		t.Errorf("with --enable-http2: NextProtos = %v, want h2 kept", c.NextProtos)
	}
}

func TestMetricsOptions(t *testing.T) {
	o := metricsOptions(":8443", true, "/certs", tlsOptions(false))
	if !o.SecureServing || o.FilterProvider == nil || o.CertDir != "/certs" || len(o.TLSOpts) != 2 || o.BindAddress != ":8443" {
		t.Errorf("secure metrics options: %+v", o)
	}
	o = metricsOptions("127.0.0.1:18080", false, "", tlsOptions(false))
	if o.SecureServing || o.FilterProvider != nil {
		t.Errorf("--metrics-secure=false: %+v, want plain HTTP without the filter", o)
	}
}

// handshake dials addr with TLS at most maxVersion, offering ALPN protocols,
// and returns the negotiated protocol.
func handshake(addr string, maxVersion uint16, alpn ...string) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // a self-signed test certificate
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         maxVersion,
		NextProtos:         alpn,
	})
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().NegotiatedProtocol, nil
}

// checkTLSFloor asserts that a server refuses TLS 1.1 and does not speak h2.
func checkTLSFloor(t *testing.T, addr string) {
	t.Helper()
	if _, err := handshake(addr, tls.VersionTLS11); err == nil {
		t.Errorf("%s: a TLS 1.1 handshake succeeded", addr)
	}
	proto, err := handshake(addr, tls.VersionTLS12, "h2", "http/1.1")
	if err != nil {
		t.Fatalf("%s: TLS 1.2 handshake: %v", addr, err)
	}
	if proto == "h2" {
		t.Errorf("%s: negotiated HTTP/2 without --enable-http2", addr)
	}
}

// TestMetricsServer starts the metrics server with the manager's options
// and scrapes it as Prometheus would: HTTPS only, TLS 1.2 at least, no
// HTTP/2, 401 without a token, 403 for an identity without the
// metrics-reader ClusterRole, 200 with it.
func TestMetricsServer(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1") // see TestWebhookServerTLS
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	httpClient, err := rest.HTTPClientFor(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsserver.NewServer(metricsOptions("127.0.0.1:0", true, "", tlsOptions(false)), adminCfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("server: %v", err)
		}
	}()
	bound, ok := srv.(interface{ GetBindAddr() string })
	if !ok {
		t.Fatalf("the metrics server (%T) does not tell its address", srv)
	}
	addr := ""
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		addr = bound.GetBindAddr()
	}
	if addr == "" {
		t.Fatal("the metrics server did not start")
	}

	checkTLSFloor(t, addr)

	// Plain HTTP gets no metrics.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP was answered with metrics: %.200s", body)
		}
	}

	cs := kubernetes.NewForConfigOrDie(adminCfg)
	ns := "metrics-test"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		t.Helper()
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	// The scraper's role, as the install ships it (config/rbac).
	var reader rbacv1.ClusterRole
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &reader); err != nil {
		t.Fatal(err)
	}
	reader.Name = "test-" + reader.Name
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	scrape := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a self-signed test certificate
	}}
	get := func(bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := scrape.Do(req)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %.200s, want 401", code, body)
	}
	// (The API server answers a token that is no JWT with an error, which
	// the filter reports as 500: refused either way.)
	if code, body := get("not-a-token"); code == http.StatusOK {
		t.Errorf("a bogus token: %d %.200s, want refused", code, body)
	}
	if code, body := get(token("someone")); code != http.StatusForbidden {
		t.Errorf("a token without the metrics-reader role: %d %.200s, want 403", code, body)
	}
	prometheus := token("prometheus")
	// The filter caches a denial for 30 s: scrape once the API server's
	// authorizer has seen the new binding.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:                  "system:serviceaccount:" + ns + ":prometheus",
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the metrics-reader binding never took effect")
		}
	}
	if code, body := get(prometheus); code != http.StatusOK || !strings.Contains(body, "# TYPE") {
		t.Errorf("metrics-reader: %d %.200s, want 200 and metrics", code, body)
	}
}

// TestWebhookServerTLS starts the webhook server with the manager's TLS
// options: TLS 1.2 at least, no HTTP/2. Go's own server default is TLS 1.2
// too, but GODEBUG=tls10server=1 (settable in the environment of the
// manager's container) lowers it to TLS 1.0; the explicit floor holds anyway.
func TestWebhookServerTLS(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1")
	dir := t.TempDir()
	cert, key, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	srv := (&lifecycle{}).webhookServer(crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: dir, TLSOpts: tlsOptions(false)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("server: %v", err)
		}
	}()
	started := srv.StartedChecker()
	for deadline := time.Now().Add(10 * time.Second); started(nil) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the webhook server did not start")
		}
	}
	checkTLSFloor(t, fmt.Sprintf("127.0.0.1:%d", port))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("a tcp listener's address %v is a %T", l.Addr(), l.Addr())
	}
	return addr.Port
}
