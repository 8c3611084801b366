package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/agenda"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/testenv"
)

// startAPIServer starts a kube-apiserver (envtest) with the CRDs, adds it
// to kc as context name (cluster and user of the same name), and returns
// a client for it.
func startAPIServer(t *testing.T, kc *clientcmdapi.Config, name string) client.Client {
	t.Helper()
	if _, err := os.Stat(filepath.Join(testenv.Assets(), "kube-apiserver")); err != nil {
		t.Fatalf("kube-apiserver not found in %s: run `make envtest-bins` or set KUBEBUILDER_ASSETS", testenv.Assets())
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{testenv.RepoPath("config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.Assets(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: manifest.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	return c
}

// writeKubeconfig writes kc to a file of the test's and returns its path.
func writeKubeconfig(t *testing.T, kc *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCatalogueCluster starts a kube-apiserver holding the samples'
// Vendors, contentful renewing on renews, as context name of kc.
func startCatalogueCluster(t *testing.T, kc *clientcmdapi.Config, name string, renews time.Time) {
	t.Helper()
	c := startAPIServer(t, kc, name)
	ctx := context.Background()
	files, errs := manifest.Load(ctx, manifest.Inputs{FS: manifest.OSFS{}, Files: []string{samples + "/02_vendors.yaml"}, Namespace: manifest.DefaultNamespace})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, v := range manifest.Objects[*v1alpha1.Vendor](files) {
		v = v.DeepCopy()
		v.SetUID("")
		v.SetResourceVersion("")
		if v.Name == "contentful" {
			v.Spec.Contract.RenewsAt = &metav1.Time{Time: renews}
		}
		if err := c.Create(ctx, v); err != nil {
			t.Fatalf("%s: creating Vendor %s: %v", name, v.Name, err)
		}
	}
}

// TestAgendaFleet reads two clusters (two kube-apiservers) through one
// kubeconfig, --context once per cluster: every item names its cluster,
// the same deadline in two clusters is two calendar events, a cluster's
// own dates stay its own, and a context that cannot be read stops the
// command with its name.
func TestAgendaFleet(t *testing.T) {
	kc := clientcmdapi.NewConfig()
	euRenews := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	usRenews := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	startCatalogueCluster(t, kc, "eu-prod", euRenews)
	startCatalogueCluster(t, kc, "us-prod", usRenews)
	kc.Contexts["broken"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "eu-prod"}
	kc.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.CurrentContext = "eu-prod"
	kubeconfig := writeKubeconfig(t, kc)

	items := agendaJSON(t, "--kubeconfig", kubeconfig, "--context", "eu-prod", "--context", "us-prod", "--within", "730d")
	perCluster := map[string][]agenda.Item{}
	uids := map[string]bool{}
	for _, it := range items {
		perCluster[it.Cluster] = append(perCluster[it.Cluster], it)
		uid := agenda.UID(it)
		if uids[uid] {
			t.Errorf("two items share the calendar UID %s: %+v", uid, it)
		}
		uids[uid] = true
	}
	if len(perCluster) != 2 || len(perCluster["eu-prod"]) == 0 || len(perCluster["eu-prod"]) != len(perCluster["us-prod"]) {
		t.Fatalf("items per cluster: eu-prod %d, us-prod %d, others %v", len(perCluster["eu-prod"]), len(perCluster["us-prod"]), len(items)-len(perCluster["eu-prod"])-len(perCluster["us-prod"]))
	}
	renewals := map[string]time.Time{}
	for _, it := range items {
		if it.Kind == v1alpha1.KindVendor && it.Name == "contentful" && it.What == agenda.WhatRenewal {
			renewals[it.Cluster] = it.At
		}
	}
	if !renewals["eu-prod"].Equal(euRenews) || !renewals["us-prod"].Equal(usRenews) {
		t.Errorf("contentful's renewal per cluster: %v, want eu-prod %s, us-prod %s", renewals, euRenews, usRenews)
	}

	// The current context alone: one cluster, no cluster name.
	for _, it := range agendaJSON(t, "--kubeconfig", kubeconfig, "--within", "730d") {
		if it.Cluster != "" {
			t.Fatalf("without --context an item names cluster %q", it.Cluster)
		}
	}

	// A context that cannot be read is an error naming it, never a gap.
	r := runCLI(t, nil, "agenda", "--kubeconfig", kubeconfig, "--context", "eu-prod", "--context", "broken", "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, `context "broken"`) || r.stdout != "" {
		t.Errorf("an unreadable context: %s", r)
	}
	r = runCLI(t, nil, "agenda", "--kubeconfig", kubeconfig, "--context", "missing", "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, `context "missing"`) {
		t.Errorf("an unknown context: %s", r)
	}
	// The views that draw one cluster say so.
	for _, cmd := range []string{"portfolio", "dataflow"} {
		r = runCLI(t, nil, cmd, "--kubeconfig", kubeconfig, "--context", "eu-prod", "--context", "us-prod", "--now", testNow)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, cmd+" reads one cluster") {
			t.Errorf("%s with two contexts: %s", cmd, r)
		}
	}
	r = runCLI(t, nil, "agenda", "--kubeconfig", kubeconfig, "--context", "eu-prod", "--context", "eu-prod", "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, `--context "eu-prod" given twice`) {
		t.Errorf("a context given twice: %s", r)
	}
}
