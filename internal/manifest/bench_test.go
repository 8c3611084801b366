package manifest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/martech-guardrails/guardrails/test/bench/corpus"
)

// benchLoad loads files (name → text) b.N times and reports documents and
// bytes per second.
func benchLoad(b *testing.B, files fstest.MapFS, docs int) {
	b.Helper()
	size := 0
	var names []string
	for name, f := range files {
		size += len(f.Data)
		names = append(names, name)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		w, errs := Load(context.Background(), Inputs{FS: files, Files: names, Namespace: DefaultNamespace})
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		if got := len(w.items) + len(w.Inventory()); got != docs {
			b.Fatalf("%d objects, want %d", got, docs)
		}
	}
	b.ReportMetric(float64(docs)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkLoadList reads a kind: List of 2,000 Vendors (as kubectl get -o
// yaml writes it).
func BenchmarkLoadList(b *testing.B) {
	const n = 2000
	var buf bytes.Buffer
	buf.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range n {
		buf.WriteString("- apiVersion: martech.guardrails.dev/v1alpha1\n  kind: Vendor\n")
		fmt.Fprintf(&buf, "  metadata: {name: v%d}\n  spec: {displayName: V, category: crm, status: approved, domains: [v%d.example.com]}\n", i, i)
	}
	buf.WriteString("metadata: {resourceVersion: \"\"}\n")
	benchLoad(b, fstest.MapFS{"list.yaml": {Data: buf.Bytes()}}, n)
}

// BenchmarkLoadDocuments reads 2,000 Vendors and 20,000 ConfigMaps (which
// are not judged: the inventory), one document each.
func BenchmarkLoadDocuments(b *testing.B) {
	const vendors, foreign = 2000, 20000
	var buf bytes.Buffer
	for i := range vendors {
		fmt.Fprintf(&buf, "---\napiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: v%d}\nspec: {displayName: V, category: crm, status: approved, domains: [v%d.example.com]}\n", i, i)
	}
	for i := range foreign {
		fmt.Fprintf(&buf, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {k: v}\n", i)
	}
	benchLoad(b, fstest.MapFS{"docs.yaml": {Data: buf.Bytes()}}, vendors+foreign)
}

// BenchmarkLoadWorkloads reads make bench-peers' corpus (corpus.WritePeers:
// 5,000 MarketingWorkloads in files of 100), each validated against its
// CRD (schema, CEL) and typed: the CLI's reading cost per document, before
// any policy is evaluated. Profile it with
//
//	go test ./internal/manifest -run '^$' -bench LoadWorkloads -cpuprofile cpu.prof
func BenchmarkLoadWorkloads(b *testing.B) {
	const docs = 5000
	dir := b.TempDir()
	if _, err := corpus.WritePeers(dir, docs); err != nil {
		b.Fatal(err)
	}
	files := fstest.MapFS{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		files[e.Name()] = &fstest.MapFile{Data: data}
	}
	benchLoad(b, files, docs)
}
