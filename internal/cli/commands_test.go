package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/martech-guardrails/guardrails/internal/dataflow"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

func TestTestBuiltinsFromSource(t *testing.T) {
	r := runCLI(t, nil, "test", builtins)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	summary := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindStringSubmatch(r.stdout)
	if summary == nil {
		t.Fatalf("no summary line:\n%s", r.stdout)
	}
	wantIn(t, "output", r.stdout, r,
		"PASS  rego guardrails.builtin.allowed_registries_test.",
		"PASS  fixture built-ins: MarketingWorkload/growth-marketing/bad-registry",
		"PASS  fixture built-ins: SaaSIntegration/growth-marketing/retargeting-pilot (violations waived by an unexpired exception)",
	)
	// Every built-in has a deny (or warn) fixture.
	eng := mustEngine(t)
	for _, p := range eng.Policies() {
		if p.Name == policy.PolicyUnmanagedWorkload {
			// It judges Deployments, Services and Ingresses in the cluster,
			// which manifests do not carry; internal/policy and
			// internal/audit test it.
			continue
		}
		if !regexp.MustCompile(`(?m)^\s+expect: \{deny: \[[^\]]*\b` + regexp.QuoteMeta(p.Name) + `\b|(warn|audit): \[[^\]]*\b` + regexp.QuoteMeta(p.Name) + `\b`).MatchString(readFile(t, builtins+"/fixtures/guardrails-test.yaml")) {
			t.Errorf("policies/fixtures has no deny, warn or audit case for %s", p.Name)
		}
	}
}

func TestTestEmbedded(t *testing.T) {
	r := runCLI(t, nil, "test")
	if r.code != ExitOK || !strings.Contains(r.stdout, "PASS  fixture built-ins:") || !strings.Contains(r.stdout, " passed, 0 failed\n") {
		t.Fatalf("%s", r)
	}
	// The embedded copy runs the same tests as the source.
	src := runCLI(t, nil, "test", builtins)
	last := func(s string) string { l := strings.Split(strings.TrimSpace(s), "\n"); return l[len(l)-1] }
	if last(r.stdout) != last(src.stdout) {
		t.Errorf("embedded: %q, source: %q", last(r.stdout), last(src.stdout))
	}
}

func TestTestFailingFixtureExits1(t *testing.T) {
	// The suite's paths stay in its directory: the fixtures are copied
	// beside it.
	suite := `name: deliberately failing
now: "2026-12-01T00:00:00Z"
inputs: [fixtures/bad-registry]
standard: fixtures/catalogue/standard.yaml
vendors: [fixtures/catalogue]
cases:
  - object: MarketingWorkload/growth-marketing/spring-promo
    name: right
    expect: {deny: [allowed-registries]}
  - object: MarketingWorkload/growth-marketing/spring-promo
    name: wrong on purpose
    expect: {deny: [ownership]}
  - object: MarketingWorkload/growth-marketing/not-there
`
	dir := writeFiles(t, map[string]string{"guardrails-test.yaml": suite})
	if err := os.CopyFS(dir+"/fixtures", os.DirFS(fixtures)); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	wantIn(t, "output", r.stdout, r,
		"PASS  fixture deliberately failing: MarketingWorkload/growth-marketing/spring-promo (right)",
		"FAIL  fixture deliberately failing: MarketingWorkload/growth-marketing/spring-promo (wrong on purpose)",
		"deny: got [allowed-registries], want [ownership]",
		"FAIL  fixture deliberately failing: MarketingWorkload/growth-marketing/not-there",
		"1 passed, 2 failed\n",
	)
	// -run selects cases.
	r = runCLI(t, nil, "test", "--run", "right", dir)
	if r.code != ExitOK || !strings.HasSuffix(r.stdout, "1 passed, 0 failed\n") {
		t.Errorf("-run: %s", r)
	}
}

func TestTestRegoOfGuardrailPolicies(t *testing.T) {
	gp := readFile(t, samples+"/04_guardrailpolicy.yaml")
	tests := `package acme.pinned_image_tags_test

import data.acme.pinned_image_tags

test_latest_denied if {
	count(pinned_image_tags.violation) == 1 with input as {"object": {"spec": {"image": "x/y:latest"}}, "parameters": {"disallowedTags": ["latest"]}}
}

test_pinned_allowed if {
	count(pinned_image_tags.violation) == 0 with input as {"object": {"spec": {"image": "x/y:1.2.3"}}, "parameters": {"disallowedTags": ["latest"]}}
}

test_wrong_on_purpose if {
	count(pinned_image_tags.violation) == 0 with input as {"object": {"spec": {"image": "x/y"}}, "parameters": {}}
}
`
	dir := writeFiles(t, map[string]string{"policy.yaml": gp, "pinned_test.rego": tests})
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitDenied {
		t.Fatalf("%s", r)
	}
	wantIn(t, "output", r.stdout, r,
		"PASS  rego acme.pinned_image_tags_test.test_latest_denied",
		"PASS  rego acme.pinned_image_tags_test.test_pinned_allowed",
		"FAIL  rego acme.pinned_image_tags_test.test_wrong_on_purpose",
		"2 passed, 1 failed",
	)
}

func TestTestBadInput(t *testing.T) {
	dir := writeFiles(t, map[string]string{"guardrails-test.yaml": "name: x\ninputs: [a]\ncases:\n  - objekt: Vendor/x\n"})
	r := runCLI(t, nil, "test", dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "guardrails-test.yaml: invalid fixture suite") {
		t.Errorf("%s", r)
	}
	r = runCLI(t, nil, "test", t.TempDir())
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "no Rego tests, fixture suites or gator suites") {
		t.Errorf("%s", r)
	}
	dir = writeFiles(t, map[string]string{"x_test.rego": "package x_test\n\ntest_x if {\n"})
	r = runCLI(t, nil, "test", dir)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "x_test.rego:") {
		t.Errorf("%s", r)
	}
}

func TestDataflowGolden(t *testing.T) {
	for _, format := range []string{"mermaid", "dot", "csv"} {
		t.Run(format, func(t *testing.T) {
			r := runCLI(t, nil, "dataflow", "-f", samples, "-o", format, "--now", testNow)
			if r.code != ExitOK {
				t.Fatalf("%s", r)
			}
			golden(t, "dataflow/samples."+format, r.stdout)
		})
	}
	// The fixtures of the built-ins have non-compliant and sensitive flows.
	r := runCLI(t, nil, "dataflow", "-f", builtins+"/fixtures", "-o", "mermaid", "--now", testNow)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	golden(t, "dataflow/fixtures.mermaid", r.stdout)
}

// sampleNames are every workload and vendor of config/samples.
var sampleNames = []string{"winter-sale-microsite", "server-side-tags", "hubspot", "google-analytics", "segment", "adnexus", "trackmax"}

func TestDataflowSVG(t *testing.T) {
	r := runCLI(t, nil, "dataflow", "-f", samples, "-o", "svg", "--now", testNow)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	dec := xml.NewDecoder(strings.NewReader(r.stdout))
	var text strings.Builder
	var root string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tk.Name.Local
			}
		case xml.CharData:
			text.Write(tk)
		}
	}
	if root != "svg" {
		t.Errorf("root element %q", root)
	}
	for _, name := range sampleNames {
		if !strings.Contains(text.String(), name) {
			t.Errorf("the SVG text does not name %s", name)
		}
	}
}

func TestDataflowHTML(t *testing.T) {
	r := runCLI(t, nil, "dataflow", "-f", samples, "-o", "html", "--now", testNow)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	doc, err := html.Parse(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			text.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, name := range sampleNames {
		if !strings.Contains(text.String(), name) {
			t.Errorf("the page does not name %s", name)
		}
	}
}

func TestDataflowUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dataflow"},
		{"dataflow", "-f", samples, "--kubeconfig", "x"},
		{"dataflow", "-f", samples, "-o", "png"},
		{"dataflow", "-f", fixtures + "/malformed-yaml"},
	} {
		if r := runCLI(t, nil, args...); r.code != ExitBadInput || r.stderr == "" {
			t.Errorf("%v: %s", args, r)
		}
	}
}

func TestPolicies(t *testing.T) {
	r := runCLI(t, nil, "policies")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "NAME ") {
		t.Fatalf("%s", r)
	}
	for _, p := range mustEngine(t).Policies() {
		if !strings.Contains(r.stdout, "\n"+p.Name+" ") || !strings.Contains(r.stdout, p.Title) {
			t.Errorf("list lacks %s", p.Name)
		}
	}

	r = runCLI(t, nil, "policies", "list", "-o", "json", "--policies", samples+"/04_guardrailpolicy.yaml", "--standard", fixtures+"/catalogue/standard.yaml")
	var rows []policyRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != ExitOK {
		t.Fatalf("%v\n%s", err, r)
	}
	var custom *policyRow
	for i := range rows {
		if rows[i].Name == "pinned-image-tags" {
			custom = &rows[i]
		}
		if rows[i].Description == "" || len(rows[i].Targets) == 0 {
			t.Errorf("row %+v lacks a description or targets", rows[i])
		}
	}
	if custom == nil || custom.Builtin || custom.Severity != "medium" || custom.Category != "reliability" {
		t.Errorf("custom policy %+v", custom)
	}

	// A standard that overrides and disables.
	std := strings.Replace(readFile(t, fixtures+"/catalogue/standard.yaml"), "  policies:\n", "  policies:\n    disabled: [exposure-host]\n    enforcement: {credential-age: deny}\n", 1)
	dir := writeFiles(t, map[string]string{"std.yaml": std})
	r = runCLI(t, nil, "policies", "doc", "--standard", dir+"/std.yaml")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	wantIn(t, "doc", r.stdout, r,
		"# Guardrail policies",
		"| [`credential-age`](#credential-age) | deny (standard; policy: warn) |",
		"| [`exposure-host`](#exposure-host) | disabled (deny) |",
		"## vendor-approved",
		"- targets: SaaSIntegration",
	)
	if r := runCLI(t, nil, "policies", "frob"); r.code != ExitBadInput {
		t.Errorf("%s", r)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"-h", "--help"} {
			r := runCLI(t, nil, c.name, flag)
			if r.code != ExitOK || !strings.HasPrefix(r.stdout, "Usage: guardrails "+c.name) || !strings.Contains(r.stdout, "Examples:\n  ") || r.stderr != "" {
				t.Errorf("%s %s: %s", c.name, flag, r)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		if r := runCLI(t, nil, args...); r.code != ExitOK || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("%v: %s", args, r)
		}
	}
	if r := runCLI(t, nil, "help", "dataflow"); r.code != ExitOK || !strings.HasPrefix(r.stdout, "Usage: guardrails dataflow") {
		t.Errorf("help dataflow: %s", r)
	}
	if r := runCLI(t, nil); r.code != ExitBadInput {
		t.Errorf("no command: %s", r)
	}
	r := runCLI(t, nil, "version")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "guardrails ") {
		t.Errorf("version: %s", r)
	}
	if strings.Contains(r.stdout, "\ndep\t") {
		t.Errorf("version without --modules printed modules: %s", r)
	}
	// --modules: this binary's build info (a test binary records its main
	// module and build settings but no deps; the e2e image test reads the
	// deps of the real binary).
	r = runCLI(t, nil, "version", "--modules")
	if r.code != ExitOK || !regexp.MustCompile(`(?m)^mod\tgithub\.com/martech-guardrails/guardrails\t`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^build\tGOOS=`).MatchString(r.stdout) {
		t.Errorf("version --modules lacks the main module or the build settings: %s", r)
	}
}

func mustEngine(t *testing.T) *policy.Engine {
	t.Helper()
	eng, err := policy.New(policy.Options{Timeout: OfflinePolicyTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
}

// TestDataflowFromCluster reads the samples from a (fake) cluster, as
// --kubeconfig does, and draws the same map as from the files.
func TestDataflowFromCluster(t *testing.T) {
	ctx := context.Background()
	files, errs := manifest.Load(ctx, manifest.Inputs{FS: manifest.OSFS{}, Files: []string{samples}, Namespace: manifest.DefaultNamespace})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var objs []client.Object
	for _, it := range files.Items() {
		objs = append(objs, it.Object.DeepCopyObject().(client.Object))
	}
	// The Namespaces and Secrets of the samples, as the cluster holds them.
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
	c := fake.NewClientBuilder().WithScheme(manifest.Scheme).WithObjects(objs...).Build()
	w, err := manifest.FromCluster(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Items()) != len(files.Items()) {
		t.Fatalf("read %d objects from the cluster, %d from the files", len(w.Items()), len(files.Items()))
	}
	eng, _, errs := newEngine(w)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	now, _ := time.Parse(time.RFC3339, testNow)
	g, err := buildGraph(ctx, []source{{world: w, eng: eng}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := dataflow.WriteMermaid(&b, g); err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, "testdata/dataflow/samples.mermaid"); b.String() != want {
		t.Errorf("from the cluster:\n%s\nfrom the files:\n%s", b.String(), want)
	}
}
