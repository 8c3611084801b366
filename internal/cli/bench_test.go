package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
	"github.com/martech-guardrails/guardrails/test/bench/corpus"
)

// Throughput of `guardrails check` (issue 7): generated MarketingWorkloads
// and SaaSIntegrations, half each, in multi-document files of
// corpus.DocsPerFile documents, checked with the sample catalogue (Vendors,
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

const benchSamplePeriod = 50 * time.Millisecond

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
			stats[n] = benchCheck(b, n, "json")
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

// BenchmarkCheckJUnit is BenchmarkCheck with -o junit, whose writer holds
// the report until the totals that open it are known.
func BenchmarkCheckJUnit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) { benchCheck(b, n, "junit") })
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
		namespace: manifest.DefaultNamespace,
	}
	if err := in.now.Set(testNow); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	w, eng, _, errs := loadChecked(ctx, &env{fsys: manifest.OSFS{}}, &in)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	var elapsed time.Duration
	runs := 0
	for b.Loop() {
		var sum report.Summary
		start := time.Now()
		err := evaluateStream(ctx, eng, w, w.Subjects(), in.now.value(), func(it *manifest.Item, d *policy.Decision) error {
			sum.Add(objectReport(it, d))
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
func benchCheck(b *testing.B, docs int, format string) benchStats {
	b.StopTimer()
	dir := b.TempDir()
	files := writeBenchInputs(b, dir, docs)
	args := []string{
		"check",
		"-f", filepath.Join(dir, "manifests"),
		"--vendors", filepath.Join(dir, "catalogue"),
		"-o", format,
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

	if format == "junit" {
		if !bytes.HasSuffix(out.tail, []byte("</testsuite>\n</testsuites>\n")) || s.exit != ExitDenied {
			b.Fatalf("exit %d, a JUnit report ending %q", s.exit, out.tail)
		}
		b.ReportMetric(s.docsPerSec(), "docs/s")
		b.ReportMetric(mib(s.peak), "peak-heap-MiB")
		return s
	}
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

// writeBenchInputs writes the benchmark's inputs (corpus.Write) into dir
// and returns the number of manifest files.
func writeBenchInputs(b *testing.B, dir string, docs int) int {
	b.Helper()
	files, err := corpus.Write(dir, samples, docs)
	if err != nil {
		b.Fatal(err)
	}
	return files
}

// BenchmarkCheckPeers is one guardrails run of `make bench-peers` in
// process, for a CPU profile of what the side-by-side run measures:
// corpus.WritePeers' 5,000 MarketingWorkloads judged by the one
// pinned-image-tags rule (test/bench/peers), the built-ins that judge
// workloads disabled by the standard.
//
//	go test ./internal/cli -run '^$' -bench CheckPeers -cpuprofile cpu.prof
func BenchmarkCheckPeers(b *testing.B) {
	const docs = 5000
	dir := b.TempDir()
	if _, err := corpus.WritePeers(dir, docs); err != nil {
		b.Fatal(err)
	}
	peers := filepath.Join("..", "..", "test", "bench", "peers")
	args := []string{"check", "-f", dir,
		"--policies", filepath.Join(peers, "guardrailpolicy.yaml"),
		"--standard", filepath.Join(peers, "standard.yaml"),
		"-o", "json", "--now", testNow}
	var out tailWriter
	runs := 0
	var elapsed time.Duration
	for b.Loop() {
		out.reset()
		var stderr bytes.Buffer
		start := time.Now()
		if code := Main(args, nil, &out, &stderr); code != ExitDenied {
			b.Fatalf("check exited %d:\n%s", code, firstLines(stderr.String(), 20))
		}
		elapsed += time.Since(start)
		runs++
	}
	var sum struct{ Objects, Deny int }
	if err := json.Unmarshal(out.summary(), &sum); err != nil {
		b.Fatal(err)
	}
	if sum.Objects != docs || sum.Deny != 2000 {
		b.Fatalf("summary %+v: want %d objects, 2000 denied", sum, docs)
	}
	perRun := elapsed / time.Duration(runs)
	b.ReportMetric(float64(docs)/perRun.Seconds(), "docs/s")
}

// TestPeerCorpusVerdicts checks, in every `go test` run, that guardrails
// denies exactly the workloads of the peer corpus that corpus.PeerDenied
// names: make bench-peers compares the tools on that count.
func TestPeerCorpusVerdicts(t *testing.T) {
	const docs = 200
	dir := t.TempDir()
	if _, err := corpus.WritePeers(dir, docs); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := range docs {
		if corpus.PeerDenied(i) {
			want++
		}
	}
	peers := filepath.Join("..", "..", "test", "bench", "peers")
	var out, stderr bytes.Buffer
	code := Main([]string{"check", "-f", dir,
		"--policies", filepath.Join(peers, "guardrailpolicy.yaml"),
		"--standard", filepath.Join(peers, "standard.yaml"),
		"-o", "json", "--now", testNow}, nil, &out, &stderr)
	if code != ExitDenied {
		t.Fatalf("check exited %d, want %d:\n%s", code, ExitDenied, stderr.String())
	}
	var got struct {
		Summary struct{ Objects, Deny int } `json:"summary"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Summary.Objects != docs || got.Summary.Deny != want {
		t.Errorf("summary %+v, want %d objects and %d denied", got.Summary, docs, want)
	}
}
