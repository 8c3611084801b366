package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Throughput of `guardrails check` (issue 7): generated MarketingWorkloads
// and SaaSIntegrations, half each, in multi-document files of
// benchDocsPerFile documents, checked with the sample catalogue (Vendors,
// PlatformStandard) in ONE run of Main, as one process of the binary would,
// with -o json and a fixed --now. Run with `make bench` or
//
//	go test ./internal/cli -run '^$' -bench Check -benchmem
//
// Each sub-benchmark reports docs/s, seconds (per check run) and
// peak-heap-MiB (the highest runtime.MemStats.HeapInuse sampled every 50 ms
// during the run; base-heap-MiB is HeapInuse after a GC just before it). The
// 2,000- and 10,000-document runs use files of the same size, so comparing
// their peak heaps shows whether memory grows with the number of documents.

const (
	benchDocsPerFile  = 100
	benchNamespaces   = 25
	benchSamplePeriod = 50 * time.Millisecond
)

// benchSizes are the document counts checked, smallest first.
var benchSizes = []int{2000, 10000}

// benchStats is what one sub-benchmark measured.
type benchStats struct {
	docs, files   int
	runs          int
	perRun        time.Duration
	peak, base    uint64 // HeapInuse, bytes
	objects, deny int    // from the report's summary
	warn, passed  int
	exit          int
}

func (s benchStats) docsPerSec() float64 { return float64(s.docs) / s.perRun.Seconds() }

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func BenchmarkCheck(b *testing.B) {
	stats := map[int]benchStats{}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			stats[n] = benchCheck(b, n)
			// The comparison is logged by the last run: a parent
			// benchmark's log is not printed.
			small, ok := stats[benchSizes[0]]
			if n == benchSizes[len(benchSizes)-1] && ok && n != small.docs {
				large := stats[n]
				b.Logf("peak heap %.0f MiB at %d docs (%d files), %.0f MiB at %d docs (%d files): x%.1f for x%.0f the documents in files of the same size",
					mib(small.peak), small.docs, small.files, mib(large.peak), large.docs, large.files,
					mib(large.peak)/mib(small.peak), float64(large.docs)/float64(small.docs))
			}
		})
	}
}

// BenchmarkCheckEvaluate is the largest BenchmarkCheck run's evaluation
// alone: the documents are read, validated and held before the timer
// starts, and only the engine's verdicts are timed (evaluateStream, in
// parallel as check runs it, reports discarded). Its docs/s is the most
// check can reach on this machine with the built-ins as they are, however
// cheap reading the files became.
func BenchmarkCheckEvaluate(b *testing.B) {
	docs := benchSizes[len(benchSizes)-1]
	dir := b.TempDir()
	writeBenchInputs(b, dir, docs)
	in := inputFlags{
		files:     []string{filepath.Join(dir, "manifests")},
		vendors:   []string{filepath.Join(dir, "catalogue")},
		namespace: DefaultNamespace,
	}
	if err := in.now.Set(testNow); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	w, eng, errs := loadChecked(ctx, &env{fsys: osFS{}}, &in, -1)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	var elapsed time.Duration
	runs := 0
	for b.Loop() {
		var sum Summary
		start := time.Now()
		err := evaluateStream(ctx, eng, w, w.subjects(), in.now.value(), func(o *ObjectReport) error {
			sum.add(o)
			return nil
		})
		elapsed += time.Since(start)
		runs++
		if err != nil {
			b.Fatal(err)
		}
		if sum.Objects != docs || sum.Deny == 0 || sum.Passed == 0 {
			b.Fatalf("summary %+v: want %d objects, denied and passing ones", sum, docs)
		}
	}
	perRun := elapsed / time.Duration(runs)
	b.ReportMetric(float64(docs)/perRun.Seconds(), "docs/s")
	b.ReportMetric(perRun.Seconds(), "seconds")
	b.Logf("%d docs evaluated in %.2f s (%.0f docs/s, GOMAXPROCS %d): the ceiling the engine puts on check here",
		docs, perRun.Seconds(), float64(docs)/perRun.Seconds(), runtime.GOMAXPROCS(0))
}

// benchCheck generates docs documents, then runs check over them b.N times
// (once in practice: a run takes well over the default -benchtime of 1 s, so
// Go stops at b.N = 1; with more iterations every one is a full run and the
// figures are per run). The inputs are generated once per invocation,
// outside the timer.
func benchCheck(b *testing.B, docs int) benchStats {
	b.StopTimer()
	dir := b.TempDir()
	files := writeBenchInputs(b, dir, docs)
	args := []string{
		"check",
		"-f", filepath.Join(dir, "manifests"),
		"--vendors", filepath.Join(dir, "catalogue"),
		"-o", "json",
		"--now", testNow,
	}
	s := benchStats{docs: docs, files: files}

	runtime.GC()
	s.base = heapInuse()
	sampler := startHeapSampler()
	var elapsed time.Duration
	var out tailWriter
	for i := 0; i < b.N; i++ {
		var stderr bytes.Buffer
		out.reset()
		b.StartTimer()
		start := time.Now()
		s.exit = Main(args, nil, &out, &stderr)
		elapsed += time.Since(start)
		b.StopTimer()
		if s.exit != ExitOK && s.exit != ExitDenied {
			sampler.stop()
			b.Fatalf("check exited %d:\n%s", s.exit, firstLines(stderr.String(), 20))
		}
		s.runs++
	}
	s.peak = sampler.stop()
	s.perRun = elapsed / time.Duration(s.runs)

	var sum struct {
		Objects, Deny, Warn, Passed int
	}
	if err := json.Unmarshal(out.summary(), &sum); err != nil {
		b.Fatalf("reading the summary at the end of the report: %v", err)
	}
	s.objects, s.deny, s.warn, s.passed = sum.Objects, sum.Deny, sum.Warn, sum.Passed
	if s.objects != docs {
		b.Fatalf("checked %d objects, want %d", s.objects, docs)
	}
	if s.deny == 0 || s.passed == 0 {
		b.Fatalf("want both denied and passing objects, got %+v", sum)
	}

	b.ReportMetric(s.docsPerSec(), "docs/s")
	b.ReportMetric(s.perRun.Seconds(), "seconds")
	b.ReportMetric(mib(s.peak), "peak-heap-MiB")
	b.ReportMetric(mib(s.base), "base-heap-MiB")
	b.Logf("%d docs in %d files: %.2f s, %.0f docs/s, peak heap %.0f MiB (%.0f MiB before), GOMAXPROCS %d, exit %d: %d deny, %d warn, %d passed",
		docs, files, s.perRun.Seconds(), s.docsPerSec(), mib(s.peak), mib(s.base), runtime.GOMAXPROCS(0), s.exit, s.deny, s.warn, s.passed)
	return s
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// heapSampler records the highest HeapInuse seen every benchSamplePeriod.
type heapSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{}), peak: heapInuse()}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(benchSamplePeriod)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				h.peak = max(h.peak, heapInuse())
			}
		}
	}()
	return h
}

// stop ends the sampling, takes a last sample and returns the peak.
func (h *heapSampler) stop() uint64 {
	close(h.done)
	h.wg.Wait()
	return max(h.peak, heapInuse())
}

// tailWriter discards what it is given, as io.Discard, but keeps the last
// bytes: the summary object closes the JSON report.
type tailWriter struct{ tail []byte }

const tailSize = 1024

func (w *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= tailSize {
		w.tail = append(w.tail[:0], p[len(p)-tailSize:]...)
	} else {
		w.tail = append(w.tail, p...)
		if len(w.tail) > tailSize {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-tailSize:]...)
		}
	}
	return len(p), nil
}

func (w *tailWriter) reset() { w.tail = w.tail[:0] }

// summary returns the report's "summary" object.
func (w *tailWriter) summary() []byte {
	i := bytes.LastIndex(w.tail, []byte(`"summary":`))
	if i < 0 {
		return nil
	}
	rest := w.tail[i+len(`"summary":`):]
	if j := bytes.IndexByte(rest, '}'); j >= 0 {
		return rest[:j+1]
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// writeBenchInputs writes dir/catalogue (the sample Vendors and
// PlatformStandard, and the Namespaces) and dir/manifests: docs documents,
// half SaaSIntegrations and half MarketingWorkloads, benchDocsPerFile to a
// file. It returns the number of manifest files.
func writeBenchInputs(b *testing.B, dir string, docs int) int {
	b.Helper()
	cat := filepath.Join(dir, "catalogue")
	man := filepath.Join(dir, "manifests")
	for _, d := range []string{cat, man} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range []string{"01_platformstandard.yaml", "02_vendors.yaml"} {
		data, err := os.ReadFile(filepath.Join(samples, f))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cat, f), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var ns strings.Builder
	for i := range benchNamespaces {
		fmt.Fprintf(&ns, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    martech.guardrails.dev/managed: \"true\"\n    martech.guardrails.dev/team: %s\n",
			benchNamespace(i), benchTeams[i%len(benchTeams)])
	}
	if err := os.WriteFile(filepath.Join(cat, "namespaces.yaml"), []byte(ns.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	pairs := docs / 2
	perFile := benchDocsPerFile / 2
	files := 0
	var buf bytes.Buffer
	for first := 0; first < pairs; first += perFile {
		buf.Reset()
		for i := first; i < min(first+perFile, pairs); i++ {
			writeIntegration(&buf, i)
			writeWorkload(&buf, i)
		}
		name := filepath.Join(man, fmt.Sprintf("team-batch-%04d.yaml", files))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		files++
	}
	return files
}

var benchTeams = []string{"growth", "brand", "lifecycle", "events", "partners"}

// benchNamespace is the namespace of namespace slot i; object i lives in
// slot i % benchNamespaces, so its integrations i and i-benchNamespaces do
// too.
func benchNamespace(i int) string {
	return fmt.Sprintf("%s-marketing-%02d", benchTeams[i%len(benchTeams)], i)
}

// benchVendor is an integration template for a vendor of the sample
// catalogue.
type benchVendor struct {
	vendor, slug, dataUse, region string
	categories, subjects          []string
	endpoints, keys               []string
}

// benchVendors, chosen by i % 20: mostly approved vendors used as the
// catalogue allows; the restricted adnexus (warn; its US region denied by
// the EU-only standard) and the prohibited trackmax (deny).
var benchVendors = func() []benchVendor {
	hubspot := benchVendor{"hubspot", "email", "marketing.communications.email", "eu",
		[]string{"user.contact.email", "user.name"}, []string{"customer", "prospect"},
		[]string{"api.hubapi.com", "forms.hubspot.com"}, []string{"API_KEY"}}
	ga := benchVendor{"google-analytics", "analytics", "analytics.reporting.campaign_insights", "eu",
		[]string{"user.behavior.browsing_history", "user.device.cookie_id"}, []string{"customer", "anonymous_user"},
		[]string{"region1.google-analytics.com"}, []string{"MEASUREMENT_ID", "API_SECRET"}}
	segment := benchVendor{"segment", "cdp", "personalize.content", "eu",
		[]string{"user.behavior.purchase_history", "user.unique_id.pseudonymous"}, []string{"customer"},
		[]string{"events.eu1.segment.io"}, []string{"WRITE_KEY"}}
	adnexus := benchVendor{"adnexus", "retargeting", "marketing.advertising.third_party.targeted", "us",
		[]string{"user.device.cookie_id"}, []string{"customer"},
		[]string{"pixel.adnexus.example"}, []string{"PIXEL_ID"}}
	trackmax := benchVendor{"trackmax", "fingerprint", "marketing.advertising", "eu",
		[]string{"user.device"}, []string{"anonymous_user"},
		[]string{"collect.trackmax.example"}, []string{"TOKEN"}}
	out := make([]benchVendor, 0, 20)
	for range 6 {
		out = append(out, hubspot)
	}
	for range 6 {
		out = append(out, ga)
	}
	for range 6 {
		out = append(out, segment)
	}
	return append(out, adnexus, trackmax)
}()

func integrationName(i int) string {
	return fmt.Sprintf("%s-%s-%05d", benchVendors[i%len(benchVendors)].vendor, benchVendors[i%len(benchVendors)].slug, i)
}

func integrationCategories(i int) []string {
	cats := benchVendors[i%len(benchVendors)].categories
	if i%50 == 13 {
		// A sensitive category the vendor may not receive.
		cats = append(cats[:len(cats):len(cats)], "user.financial")
	}
	return cats
}

func yamlList(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }

func writeIntegration(w *bytes.Buffer, i int) {
	v := benchVendors[i%len(benchVendors)]
	region := v.region
	if i%37 == 5 {
		region = "us" // outside the standard's EU-only residency
	}
	fmt.Fprintf(w, `---
# Integration %d: %s for team %s.
apiVersion: martech.guardrails.dev/v1alpha1
kind: SaaSIntegration
metadata:
  name: %s
  namespace: %s
  labels:
    app.kubernetes.io/part-of: campaign-%d
spec:
  vendor: %s
  purpose: Campaign %d data sent to %s (%s)
  dataUse: %s
  dataCategories: %s
  dataSubjects: %s
  region: %s
  endpoints: %s
`, i, v.vendor, benchTeams[i%len(benchTeams)], integrationName(i), benchNamespace(i%benchNamespaces), i/benchNamespaces,
		v.vendor, i, v.vendor, v.slug, v.dataUse, yamlList(integrationCategories(i)), yamlList(v.subjects), region, yamlList(v.endpoints))
	if i%29 != 4 { // some integrations name no credentials
		fmt.Fprintf(w, "  credentials:\n    secretName: %s-credentials\n    keys: %s\n", integrationName(i), yamlList(v.keys))
	}
}

var benchApps = []string{"microsite", "landing-page", "sgtm", "promo-api", "quiz", "signup-forms", "referral", "newsletter-renderer"}

func writeWorkload(w *bytes.Buffer, i int) {
	app := benchApps[i%len(benchApps)]
	name := fmt.Sprintf("%s-%05d", app, i)
	team := benchTeams[i%len(benchTeams)]
	refs := []int{i}
	if i >= benchNamespaces && i%2 == 0 {
		refs = append(refs, i-benchNamespaces) // same namespace slot
	}
	var cats []string
	for _, r := range refs {
		for _, c := range integrationCategories(r) {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	if i%31 == 6 && len(cats) > 1 {
		cats = cats[:1] // undeclared categories of its integrations
	}

	var image string
	switch {
	case i%25 == 3:
		image = "docker.io/library/nginx:1.27" // not an allowed registry
	case i%2 == 0:
		image = fmt.Sprintf("ghcr.io/acme-marketing/%s:%d.%d.%d", app, 1+i%3, i%10, i%7)
	default:
		image = fmt.Sprintf("registry.acme.internal/martech/%s:%d.%d.%d", app, 2+i%2, i%12, i%5)
	}
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: %s
  namespace: %s
  labels:
    app.kubernetes.io/name: %s
spec:
`, name, benchNamespace(i%benchNamespaces), app)
	if i%60 != 17 { // some have no owner
		fmt.Fprintf(w, "  owner:\n    team: %s\n    contact: %s-team@acme.example\n", team, team)
	}
	fmt.Fprintf(w, "  costCenter: MKT-%d\n", 4000+(i%8)*100)
	if i%3 != 0 {
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%60) * 24 * time.Hour)
		days := 30 + i%50
		if i%30 == 11 {
			days = 200 // longer than the standard's maxDuration (90 days)
		}
		fmt.Fprintf(w, "  campaign:\n    name: %s-campaign-%d\n    startsAt: %q\n    endsAt: %q\n",
			team, i/benchNamespaces, start.Format(time.RFC3339), start.Add(time.Duration(days)*24*time.Hour).Format(time.RFC3339))
	}
	replicas := 1 + i%4
	if i%45 == 9 {
		replicas = 12 // above the standard's maxReplicas
	}
	fmt.Fprintf(w, "  image: %s\n  replicas: %d\n  port: %d\n", image, replicas, 8080+i%3)
	fmt.Fprintf(w, "  env:\n    - name: SITE_LOCALE\n      value: %s\n    - name: CAMPAIGN_ID\n      value: %q\n",
		[]string{"en-GB", "de-DE", "fr-FR", "nl-NL"}[i%4], fmt.Sprint(i))
	if i%4 != 1 {
		fmt.Fprintf(w, "  resources:\n    requests:\n      cpu: %dm\n      memory: %dMi\n    limits:\n      cpu: %dm\n      memory: %dMi\n",
			50+i%4*25, 64+i%3*64, 250, 256)
	}
	if i%2 == 0 {
		host := fmt.Sprintf("%s-%d.campaigns.acme.example", app, i)
		if i%35 == 4 {
			host = fmt.Sprintf("promo-%d.example.com", i) // outside the allowed host suffixes
		}
		fmt.Fprintf(w, "  exposure:\n    host: %s\n    path: /\n", host)
	}
	w.WriteString("  integrations:\n")
	for k, r := range refs {
		fmt.Fprintf(w, "    - name: %s\n      envPrefix: %s\n", integrationName(r), []string{"PRIMARY_", "SECONDARY_"}[k])
	}
	if i%40 == 7 {
		fmt.Fprintf(w, "    - name: missing-integration-%05d\n", i) // does not exist
	}
	fmt.Fprintf(w, "  dataCategories: %s\n", yamlList(cats))
}
