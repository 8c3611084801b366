package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/agenda"
	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/portfolio"
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

// createSamples creates config/samples (Namespace, Secrets and our kinds)
// in the cluster of c, as GitOps would apply them, and returns the World
// the files make. edit may change an object before it is created, or
// return false to leave it out.
func createSamples(t *testing.T, c client.Client, edit func(client.Object) bool) *manifest.World {
	t.Helper()
	ctx := context.Background()
	files, errs := manifest.Load(ctx, manifest.Inputs{FS: manifest.OSFS{}, Files: []string{samples}, Namespace: manifest.DefaultNamespace})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var objs []client.Object
	for _, name := range []string{"00_namespace.yaml", "03_secrets.yaml"} {
		docs, errs := manifest.ParseDocuments(name, []byte(readFile(t, samples+"/"+name)))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, d := range docs {
			var o client.Object = &corev1.Namespace{}
			if d.Object["kind"] == "Secret" {
				o = &corev1.Secret{}
			}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, o); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, o)
		}
	}
	for _, it := range files.Items() {
		o := it.Object.DeepCopyObject().(client.Object)
		o.SetUID("")
		o.SetResourceVersion("")
		objs = append(objs, o)
	}
	for _, o := range objs {
		if edit != nil && !edit(o) {
			continue
		}
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	return files
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
	r = runCLI(t, nil, "agenda", "--kubeconfig", kubeconfig, "--context", "eu-prod", "--context", "eu-prod", "--now", testNow)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, `--context "eu-prod" given twice`) {
		t.Errorf("a context given twice: %s", r)
	}
}

// startSamplesFleet starts two kube-apiservers holding config/samples, as
// contexts prod-eu and prod-us of one kubeconfig, plus a context broken
// whose server does not answer. prod-us's catalogue differs as catalogues
// drift: hubspot's contract costs more there, and optimizely is missing;
// its hubspot-email integration belongs to another team and cost centre.
func startSamplesFleet(t *testing.T) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	createSamples(t, startAPIServer(t, kc, "prod-eu"), nil)
	createSamples(t, startAPIServer(t, kc, "prod-us"), func(o client.Object) bool {
		switch o := o.(type) {
		case *v1alpha1.Vendor:
			if o.Name == "hubspot" {
				o.Spec.Contract.AnnualCost.Amount = "40000.00"
			}
			return o.Name != "optimizely"
		case *v1alpha1.SaaSIntegration:
			if o.Name == "hubspot-email" {
				o.Spec.Owner.Team, o.Spec.CostCenter = "us-growth", "MKT-US-1"
			}
		}
		return true
	})
	kc.Contexts["broken"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "prod-eu"}
	kc.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.CurrentContext = "prod-eu"
	return writeKubeconfig(t, kc)
}

// portfolioDoc is guardrails portfolio -o json.
type portfolioDoc struct {
	Clusters []string
	Vendors  []portfolio.Row
	Summary  portfolio.Summary
}

func portfolioJSON(t *testing.T, args ...string) portfolioDoc {
	t.Helper()
	r := runCLI(t, nil, append([]string{"portfolio", "-o", "json", "--now", testNow}, args...)...)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	var doc portfolioDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return doc
}

// TestPortfolioFleet reads two clusters (two kube-apiservers) with
// --context twice: one row per vendor whatever the number of clusters,
// usage kept per cluster, the drifted contract named and counted once,
// findings exactly those of each cluster's engine, and an unreadable
// context an error naming it.
func TestPortfolioFleet(t *testing.T) {
	kubeconfig := startSamplesFleet(t)
	files := portfolioJSON(t, "-f", samples)
	fleet := portfolioJSON(t, "--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "prod-us")

	if !slices.Equal(fleet.Clusters, []string{"prod-eu", "prod-us"}) {
		t.Errorf("clusters %v", fleet.Clusters)
	}
	// One row per vendor: the samples' eight, merged.
	if len(fleet.Vendors) != len(files.Vendors) || len(files.Vendors) != 8 {
		t.Fatalf("%d rows from the fleet, %d from the files", len(fleet.Vendors), len(files.Vendors))
	}
	rows := map[string]portfolio.Row{}
	for i, r := range fleet.Vendors {
		rows[r.Vendor] = r
		f := files.Vendors[i]
		if r.Vendor != f.Vendor || len(r.Integrations) != 2*len(f.Integrations) || len(r.Clusters) == 0 {
			t.Errorf("%s: %d integrations in clusters %v; the files: %s, %d", r.Vendor, len(r.Integrations), r.Clusters, f.Vendor, len(f.Integrations))
		}
		for _, name := range r.Integrations {
			if !strings.HasPrefix(name, "prod-eu/") && !strings.HasPrefix(name, "prod-us/") {
				t.Errorf("%s: integration %q names no cluster", r.Vendor, name)
			}
		}
	}
	hubspot := rows["hubspot"]
	if !slices.Equal(hubspot.Clusters, []string{"prod-eu", "prod-us"}) || len(hubspot.Usage) != 2 {
		t.Fatalf("hubspot %+v", hubspot)
	}
	eu, us := hubspot.Usage[0], hubspot.Usage[1]
	if eu.Cluster != "prod-eu" || !slices.Equal(eu.Teams, []string{"growth"}) || !slices.Equal(eu.CostCenters, []string{"MKT-4410"}) ||
		us.Cluster != "prod-us" || !slices.Equal(us.Teams, []string{"us-growth"}) || !slices.Equal(us.CostCenters, []string{"MKT-US-1"}) ||
		!slices.Equal(eu.Integrations, []string{"growth-marketing/hubspot-email"}) || !slices.Equal(eu.Workloads, us.Workloads) || len(eu.Workloads) == 0 {
		t.Errorf("hubspot usage per cluster %+v", hubspot.Usage)
	}
	if !slices.Equal(hubspot.CostCenters, []string{"MKT-4410", "MKT-US-1"}) {
		t.Errorf("hubspot cost centres %v", hubspot.CostCenters)
	}
	// The contract that differs: the first context's shown, the other's
	// named beside it.
	if hubspot.AnnualCost.Amount != "36000.00" || len(hubspot.Drift) != 1 || hubspot.Drift[0].Field != "annualCost" ||
		!slices.Equal(hubspot.Drift[0].Values, []portfolio.ClusterValue{{Cluster: "prod-eu", Value: "EUR 36000.00"}, {Cluster: "prod-us", Value: "EUR 40000.00"}}) {
		t.Errorf("hubspot cost %v drift %+v", hubspot.AnnualCost, hubspot.Drift)
	}
	if d := rows["optimizely"].Drift; len(d) != 1 || d[0].Field != "inCatalogue" {
		t.Errorf("optimizely drift %+v", d)
	}
	if len(rows["contentful"].Drift) != 0 {
		t.Errorf("contentful is the same in both clusters, yet %+v", rows["contentful"].Drift)
	}
	var drifted []string
	for _, d := range fleet.Summary.Drift {
		drifted = append(drifted, d.Vendor)
	}
	if !slices.Equal(drifted, []string{"hubspot", "optimizely"}) {
		t.Errorf("summary drift %v", drifted)
	}
	// Totals count a merged vendor once: the fleet costs what one
	// cluster's catalogue (the first) says, not twice.
	if !slices.Equal(fleet.Summary.Total, files.Summary.Total) || !slices.Equal(files.Summary.Total, []portfolio.Amount{{Currency: "EUR", Amount: "69600.00"}, {Currency: "USD", Amount: "66500.00"}}) {
		t.Errorf("fleet total %v, the files' %v", fleet.Summary.Total, files.Summary.Total)
	}
	// optimizely is in prod-eu's catalogue only: the fleet's unused
	// vendors are prod-eu's (none: a Vendor created a moment ago is not
	// shelfware yet, the unused clock starts at its creation).
	euAlone := portfolioJSON(t, "--kubeconfig", kubeconfig, "--context", "prod-eu")
	if !slices.Equal(fleet.Summary.UnusedTotal, euAlone.Summary.UnusedTotal) || len(fleet.Summary.Unused) != len(euAlone.Summary.Unused) {
		t.Errorf("unused %v %v, prod-eu alone %v", fleet.Summary.Unused, fleet.Summary.UnusedTotal, euAlone.Summary.Unused)
	}

	// The findings are each cluster's engine's: the fleet's, one per
	// cluster that returned it, are the union of the two clusters read
	// alone.
	expand := func(doc portfolioDoc) []string {
		var out []string
		for _, r := range doc.Vendors {
			for _, f := range r.Findings {
				if len(f.Clusters) == 0 {
					t.Errorf("%s: a finding names no cluster: %+v", r.Vendor, f)
				}
				for _, c := range f.Clusters {
					out = append(out, c+" "+f.Level+" "+f.Policy+" "+f.Object+": "+f.Message)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	got := expand(fleet)
	want := append(expand(euAlone),
		expand(portfolioJSON(t, "--kubeconfig", kubeconfig, "--context", "prod-us"))...)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("fleet findings\n%s\nthe clusters' own\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Text, CSV and the page name the clusters and the drift.
	r := runCLI(t, nil, "portfolio", "--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "prod-us", "--now", testNow)
	wantIn(t, "text", r.stdout, r, "8 vendors in 2 clusters (prod-eu, prod-us)", "  in prod-us: 1 integration (growth-marketing/hubspot-email) · teams us-growth · cost centres MKT-US-1",
		"  DRIFT annualCost: prod-eu EUR 36000.00, prod-us EUR 40000.00", "Catalogue drift between clusters")
	r = runCLI(t, nil, "portfolio", "--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "prod-us", "--now", testNow, "-o", "csv")
	records, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(records) != 9 {
		t.Fatalf("csv: %v\n%s", err, r)
	}
	for _, rec := range records[1:] {
		if clusters := rec[slices.Index(portfolio.CSVHeader, "Clusters")]; clusters == "" {
			t.Errorf("csv row %s names no cluster", rec[0])
		}
	}
	r = runCLI(t, nil, "portfolio", "--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "prod-us", "--now", testNow, "-o", "html")
	wantIn(t, "html", r.stdout, r, "<th>clusters</th>", "prod-eu: 1 integration<br>prod-us: 1 integration", "cluster: prod-us")

	// A context that cannot be read stops the command with its name.
	for _, format := range []string{"text", "json", "csv", "html"} {
		r = runCLI(t, nil, "portfolio", "--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "broken", "--now", testNow, "-o", format)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, `context "broken"`) || r.stdout != "" {
			t.Errorf("-o %s with an unreadable context: %s", format, r)
		}
	}
}

// TestDataflowFleet draws two clusters: every flow and every record of
// processing names its cluster (one record per integration per cluster,
// each with its own cluster's owner and cost centre), the vendors are one
// node each, and an unreadable context is an error naming it.
func TestDataflowFleet(t *testing.T) {
	kubeconfig := startSamplesFleet(t)
	both := []string{"--kubeconfig", kubeconfig, "--context", "prod-eu", "--context", "prod-us", "--now", testNow}

	r := runCLI(t, nil, append([]string{"dataflow", "-o", "ropa-json"}, both...)...)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	var ropa dataflow.RoPA
	if err := json.Unmarshal([]byte(r.stdout), &ropa); err != nil {
		t.Fatal(err)
	}
	perCluster := map[string][]string{}
	costCenter := map[string]string{}
	for _, a := range ropa.Activities {
		perCluster[a.Cluster] = append(perCluster[a.Cluster], a.Activity)
		costCenter[a.Cluster+" "+a.Activity] = a.CostCenter
	}
	if len(perCluster) != 2 || len(perCluster["prod-eu"]) != 7 || !slices.Equal(perCluster["prod-eu"], perCluster["prod-us"]) {
		t.Errorf("records per cluster %v", perCluster)
	}
	if costCenter["prod-eu growth-marketing/hubspot-email"] != "MKT-4410" || costCenter["prod-us growth-marketing/hubspot-email"] != "MKT-US-1" {
		t.Errorf("hubspot-email's cost centre per cluster %v", costCenter)
	}

	r = runCLI(t, nil, append([]string{"dataflow", "-o", "ropa"}, both...)...)
	records, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(records) != 15 || records[0][1] != "Cluster" {
		t.Fatalf("ropa csv: %v\n%s", err, r)
	}
	r = runCLI(t, nil, append([]string{"dataflow", "-o", "csv"}, both...)...)
	flows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	fromFiles := runCLI(t, nil, "dataflow", "-f", samples, "-o", "csv", "--now", testNow)
	filesFlows := strings.Count(fromFiles.stdout, "\n") - 1
	count := map[string]int{}
	for _, f := range flows[1:] {
		count[f[len(f)-1]]++
	}
	if count["prod-eu"] != filesFlows || count["prod-us"] != filesFlows || len(count) != 2 {
		t.Errorf("flows per cluster %v, the files have %d", count, filesFlows)
	}
	r = runCLI(t, nil, append([]string{"dataflow", "-o", "mermaid"}, both...)...)
	if n := strings.Count(r.stdout, "<b>HubSpot"); n != 1 {
		t.Errorf("hubspot drawn %d times:\n%s", n, r.stdout)
	}
	wantIn(t, "mermaid", r.stdout, r, "cluster: prod-eu", "cluster: prod-us", "DIFFERS between clusters: inCatalogue")

	for _, format := range []string{"mermaid", "dot", "svg", "html", "csv", "ropa", "ropa-json"} {
		r = runCLI(t, nil, "dataflow", "--kubeconfig", kubeconfig, "--context", "broken", "--context", "prod-us", "--now", testNow, "-o", format)
		if r.code != ExitBadInput || !strings.Contains(r.stderr, `context "broken"`) || r.stdout != "" {
			t.Errorf("-o %s with an unreadable context: %s", format, r)
		}
	}
}
