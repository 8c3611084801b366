package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/controllers"
)

// The tests of the manager's server and Secret options run against a real
// API server (envtest, with RBAC): the metrics filter's TokenReviews and
// SubjectAccessReviews, and what the manager's identity may read.
var (
	adminCfg   *rest.Config
	testScheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	ctrl.SetLogger(logr.Discard())
	// The servers' "TLS handshake error" lines: the refused handshakes are
	// what the tests try.
	log.SetOutput(io.Discard)
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "..", "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		fmt.Fprintf(os.Stderr, "kube-apiserver not found in %s: run `make envtest-bins`\n", assets)
		os.Exit(1)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		os.Exit(1)
	}
	adminCfg = cfg
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping envtest: %v\n", err)
	}
	os.Exit(code)
}

func secretMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

func secretMetaList() *metav1.PartialObjectMetadataList {
	m := &metav1.PartialObjectMetadataList{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	return m
}

func TestCredentialNamespacesFlag(t *testing.T) {
	var l namespaceList
	if err := l.Set(" growth-marketing, team-b,,growth-marketing "); err != nil {
		t.Fatal(err)
	}
	if got := l.String(); got != "growth-marketing,team-b" {
		t.Errorf("parsed %q", got)
	}
	if err := l.Set(""); err != nil || len(l) != 0 {
		t.Errorf("empty: %v %v", l, err)
	}
	if err := l.Set("Team_B"); err == nil {
		t.Error("an invalid namespace name was accepted")
	}
	if got := withNamespace([]string{"a"}, "guardrails-system"); !slices.Equal(got, []string{"a", "guardrails-system"}) {
		t.Errorf("withNamespace: %v", got)
	}
	if got := withNamespace([]string{"guardrails-system"}, "guardrails-system"); !slices.Equal(got, []string{"guardrails-system"}) {
		t.Errorf("withNamespace twice: %v", got)
	}
}

// TestCredentialGuard: the manager's client reads Secret metadata in its
// namespaces and refuses, with Forbidden, Secret values anywhere and
// metadata elsewhere; other kinds pass.
func TestCredentialGuard(t *testing.T) {
	ctx := context.Background()
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "growth-marketing", Name: "hubspot-credentials"}, Data: map[string][]byte{"API_KEY": []byte("s3cret")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "bank"}, Data: map[string][]byte{"KEY": []byte("s3cret")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "settings"}},
	}
	inner := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).Build()
	g := &credentialGuard{Client: inner, namespaces: []string{"growth-marketing", "guardrails-system"}}

	m := secretMeta()
	if err := g.Get(ctx, types.NamespacedName{Namespace: "growth-marketing", Name: "hubspot-credentials"}, m); err != nil {
		t.Errorf("metadata in a credential namespace: %v", err)
	}
	err := g.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "bank"}, secretMeta())
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `namespace "payments"`) {
		t.Errorf("metadata outside the credential namespaces: %v, want Forbidden naming the namespace", err)
	}
	if err := g.Get(ctx, types.NamespacedName{Namespace: "growth-marketing", Name: "hubspot-credentials"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("a full Secret (values): %v, want Forbidden", err)
	}
	if err := g.List(ctx, &corev1.SecretList{}, client.InNamespace("growth-marketing")); !apierrors.IsForbidden(err) {
		t.Errorf("listing full Secrets: %v, want Forbidden", err)
	}
	if err := g.List(ctx, secretMetaList(), client.InNamespace("growth-marketing")); err != nil {
		t.Errorf("listing metadata in a credential namespace: %v", err)
	}
	if err := g.List(ctx, secretMetaList()); !apierrors.IsForbidden(err) {
		t.Errorf("listing metadata in all namespaces: %v, want Forbidden", err)
	}
	if err := g.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "settings"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("another kind: %v", err)
	}
	// Writes pass: the certificate rotator updates its Secret.
	if err := g.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "guardrails-system", Name: "webhook-server-cert"}}); err != nil {
		t.Errorf("writing a Secret: %v", err)
	}
}

// managerIdentity impersonates the manager's ServiceAccount.
func managerIdentity() *rest.Config {
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:guardrails-system:guardrails-controller-manager",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:guardrails-system", "system:authenticated"},
	}
	return cfg
}

// applyCredentialReader creates config/rbac/credential-reader's Role and
// RoleBinding in ns, as a platform team would.
func applyCredentialReader(t *testing.T, c client.Client, ns string) {
	t.Helper()
	dir := filepath.Join("..", "..", "config", "rbac", "credential-reader")
	var role rbacv1.Role
	var binding rbacv1.RoleBinding
	for file, into := range map[string]any{"role.yaml": &role, "role_binding.yaml": &binding} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	role.Namespace, binding.Namespace = ns, ns
	for _, o := range []client.Object{&role, &binding} {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCredentialCache runs the manager's Secret cache and client as the
// manager's ServiceAccount against a real API server: the namespaces with
// config/rbac/credential-reader are read (metadata), one without it is
// dropped at start instead of hanging every reader, and a read there is
// Forbidden at once.
func TestCredentialCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin, err := client.New(adminCfg, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"guardrails-system", "growth-marketing", "payments"} {
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		if err := admin.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "credentials", Annotations: map[string]string{"martech.guardrails.dev/rotated-at": "2026-10-01T00:00:00Z"}},
			Data:       map[string][]byte{"API_KEY": []byte("s3cret")},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The install's own-namespace Role has the credential reader's rules.
	applyCredentialReader(t, admin, "guardrails-system")
	applyCredentialReader(t, admin, "growth-marketing")

	cfg := managerIdentity()
	want := withNamespace([]string{"growth-marketing", "payments"}, "guardrails-system")
	var readable []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if readable, err = credentialNamespaces(cfg, testScheme, want); err == nil && len(readable) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("credentialNamespaces: %v, %v", readable, err)
		}
	}
	if !slices.Equal(readable, []string{"growth-marketing", "guardrails-system"}) {
		t.Fatalf("readable namespaces %v, want growth-marketing and guardrails-system (payments has no credential reader)", readable)
	}

	start := func(namespaces []string) (cache.Cache, client.Client) {
		t.Helper()
		opts := controllers.CacheOptions(namespaces)
		opts.Scheme = testScheme
		ch, err := cache.New(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = ch.Start(ctx) }()
		c, err := credentialClient(namespaces)(cfg, client.Options{Scheme: testScheme, Cache: &client.CacheOptions{Reader: ch}})
		if err != nil {
			t.Fatal(err)
		}
		return ch, c
	}

	ch, c := start(readable)
	// The webhooks warm the Secret metadata informer (GetInformer waits for
	// it to sync) and the policy loader waits for the whole cache.
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if _, err := ch.GetInformer(syncCtx, secretMeta()); err != nil {
		t.Fatal(err)
	}
	if !ch.WaitForCacheSync(syncCtx) {
		t.Fatal("the Secret cache did not sync in the readable namespaces")
	}
	m := secretMeta()
	if err := c.Get(ctx, types.NamespacedName{Namespace: "growth-marketing", Name: "credentials"}, m); err != nil {
		t.Fatalf("metadata in growth-marketing: %v", err)
	}
	if m.CreationTimestamp.IsZero() || m.Annotations["martech.guardrails.dev/rotated-at"] == "" {
		t.Errorf("metadata lacks what credential age needs: %+v", m.ObjectMeta)
	}
	begin := time.Now()
	err = c.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "credentials"}, secretMeta())
	if !apierrors.IsForbidden(err) {
		t.Errorf("metadata in payments: %v, want Forbidden", err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("the refused read took %s", d)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "growth-marketing", Name: "credentials"}, &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("a full Secret: %v, want Forbidden", err)
	}

	// Why namespaces without permission are dropped: their informer never
	// syncs, and the webhooks and policy loader wait for every informer.
	ch2, _ := start(want)
	shortCtx, shortCancel := context.WithTimeout(ctx, 3*time.Second)
	defer shortCancel()
	if _, err := ch2.GetInformer(shortCtx, secretMeta()); err == nil && ch2.WaitForCacheSync(shortCtx) {
		t.Error("a Secret cache over a namespace without permission synced; dropping such namespaces would not be needed")
	}

	// No permission anywhere: the manager refuses to start rather than hang.
	nobody := rest.CopyConfig(adminCfg)
	nobody.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:elsewhere:nobody", Groups: []string{"system:authenticated"}}
	if _, err := credentialNamespaces(nobody, testScheme, []string{"guardrails-system"}); err == nil {
		t.Error("credentialNamespaces succeeded for an identity that may read no Secrets")
	}
}
