package manifest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/test/bench/corpus"
)

// acceptSeeds are objects of every kind of ours, prepared as admit
// prepares them (pruned, namespaced, defaulted): the samples and a few
// generated MarketingWorkloads.
func acceptSeeds(t testing.TB) []map[string]any {
	t.Helper()
	var texts [][]byte
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("samples: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, data)
	}
	dir := t.TempDir()
	if _, err := corpus.WritePeers(dir, 40); err != nil {
		t.Fatal(err)
	}
	gen, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range gen {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, data)
	}
	all, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, text := range texts {
		docs, errs := ParseDocuments("seed.yaml", text)
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		for _, d := range docs {
			ks := all[d.ourKind()]
			if ks == nil {
				continue
			}
			if problems, stop := ks.prepare(d.Object, DefaultNamespace); stop || len(problems) > 0 {
				t.Fatalf("%s: %v", d.Pos(), problems)
			}
			out = append(out, d.Object)
		}
	}
	return out
}

// kubeValid is kube-openapi's verdict alone, without the acceptor.
func kubeValid(ks *kindSchema, obj map[string]any) bool {
	return validatorOf(ks).SchemaValidator.Validate(obj).IsValid()
}

// validatorOf is the kind's validator, which is always a createValidator.
func validatorOf(ks *kindSchema) createValidator {
	v, ok := ks.validator.(createValidator)
	if !ok {
		panic(fmt.Sprintf("kind schema validator is a %T", ks.validator))
	}
	return v
}

// quickValid is the acceptor's.
func quickValid(ks *kindSchema, obj map[string]any) bool {
	return validatorOf(ks).quick.accepts(obj)
}

// mutationValues replace a value of an object: each type a schema may
// want and many it may refuse.
var mutationValues = []any{
	nil, "", "x", "Not_A-Name!", strings.Repeat("a", 64), strings.Repeat("b", 300),
	"2026-01-01T00:00:00Z", "2026-13-45", "approved", "deny", "crm", "100m", "1Gi", "1e3", "-5", "ÿ",
	"ghcr.io/acme/app:1.2.3", "https://example.com", "a@b.example",
	int64(0), int64(-1), int64(1), int64(3), int64(65), int64(1 << 31), int64(1 << 40), int64(65535), int64(65536),
	true, false, float64(1.5), float64(2),
	[]any{}, []any{"a"}, []any{"a", "a"}, []any{int64(1)}, []any{map[string]any{}}, []any{nil},
	map[string]any{}, map[string]any{"name": "x"}, map[string]any{"unknown": "x"},
}

// mutants calls f with copies of obj, each changed at one place: every
// value replaced by each of mutationValues, every key of a map deleted, a
// key added to every map, every list emptied and given a copy of its
// first item.
func mutants(obj map[string]any, f func(map[string]any)) {
	var walk func(path []any, v any)
	walk = func(path []any, v any) {
		if len(path) > 0 {
			for _, r := range mutationValues {
				f(setAt(obj, path, runtime.DeepCopyJSONValue(r), false))
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				f(setAt(obj, append(slices.Clone(path), k), nil, true))
				walk(append(slices.Clone(path), k), x[k])
			}
			f(setAt(obj, append(slices.Clone(path), "zzUnknown"), "x", false))
		case []any:
			for i, it := range x {
				walk(append(slices.Clone(path), i), it)
			}
			if len(x) > 0 {
				grown, _ := runtime.DeepCopyJSONValue(x).([]any)
				f(setAt(obj, path, append(grown, runtime.DeepCopyJSONValue(x[0])), false))
			}
		}
	}
	walk(nil, obj)
}

// setAt returns a deep copy of obj with the value at path set to v (or
// its key deleted).
func setAt(obj map[string]any, path []any, v any, del bool) map[string]any {
	out := runtime.DeepCopyJSON(obj)
	var cur any = out
	for i, p := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			k, _ := p.(string)
			if last {
				if del {
					delete(c, k)
				} else {
					c[k] = v
				}
				return out
			}
			cur = c[k]
		case []any:
			j, _ := p.(int)
			if last {
				c[j] = v
				return out
			}
			cur = c[j]
		}
	}
	return out
}

// TestAcceptorAgreesWithKubeOpenAPI checks that the acceptor never passes
// an object kube-openapi refuses, over every kind's samples and thousands
// of objects changed at one place each, and that it does pass the valid
// samples (or reading would be no faster).
func TestAcceptorAgreesWithKubeOpenAPI(t *testing.T) {
	all, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	var total, kubeOK, quickOK int
	mutated := map[string]int{}
	for _, seed := range acceptSeeds(t) {
		kind, _ := seed["kind"].(string)
		kinds[kind] = true
		ks := all[kind]
		if !kubeValid(ks, seed) || !quickValid(ks, seed) {
			t.Fatalf("%s %v: kube-openapi valid %t, acceptor %t, want both", kind, seed["metadata"], kubeValid(ks, seed), quickValid(ks, seed))
		}
		// Every seed is passed; a few of each kind are mutated (the
		// mutants of one object number thousands).
		if mutated[kind]++; mutated[kind] > 2 {
			continue
		}
		mutants(seed, func(m map[string]any) {
			total++
			k, q := kubeValid(ks, m), quickValid(ks, m)
			if k {
				kubeOK++
			}
			if q {
				quickOK++
			}
			if q && !k {
				t.Fatalf("%s: the acceptor passes an object kube-openapi refuses:\n%v\nkube-openapi: %v", kind, m,
					validatorOf(ks).SchemaValidator.Validate(m).Errors)
			}
		})
	}
	if len(kinds) != len(all) {
		t.Errorf("seeds of %d kinds (%v), want all %d", len(kinds), slices.Sorted(maps.Keys(kinds)), len(all))
	}
	t.Logf("%d objects: kube-openapi valid %d, the acceptor passes %d of them", total, kubeOK, quickOK)
}

// FuzzAcceptor checks, on any YAML document, that the acceptor of every
// kind passes nothing kube-openapi refuses. Seeds are the samples.
//
//	go test ./internal/manifest -run '^$' -fuzz '^FuzzAcceptor$' -fuzztime 60s
func FuzzAcceptor(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		chunks, _ := splitDocuments(data)
		for _, c := range chunks {
			f.Add(c.text)
		}
	}
	all, err := schemas()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		v, err := decodeYAML(text)
		obj, ok := v.(map[string]any)
		if err != nil || !ok {
			return
		}
		for kind, ks := range all {
			m := runtime.DeepCopyJSON(obj)
			if quickValid(ks, m) && !kubeValid(ks, m) {
				t.Fatalf("%s: the acceptor passes an object kube-openapi refuses: %s", kind, fmt.Sprint(m))
			}
		}
	})
}
