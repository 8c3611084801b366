package manifest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"testing/fstest"
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
