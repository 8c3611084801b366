package manifest

import (
	"reflect"
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestShapeAgreesWithTheLibrary checks the quick passes of shape.go
// against the apiextensions-apiserver functions they stand in for, on
// every kind's samples and the objects changed at one place each of a few
// of them (mutants): pruning and defaulting exactly, and no list-type
// error, no coercion and the metadata decoded as the library would
// whenever the quick pass says so. It also counts how often the quick
// passes answer, so that a pass that never does is seen.
func TestShapeAgreesWithTheLibrary(t *testing.T) {
	all, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	var total, pruned, listsQuick, coerceQuick, metaQuick int
	check := func(ks *kindSchema, m map[string]any) {
		t.Helper()
		total++
		// Pruning: the quick answer is exact.
		c := runtime.DeepCopyJSON(m)
		paths := pruning.PruneWithOptions(c, ks.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
		libPrunes := len(paths) > 0 || !reflect.DeepEqual(c, m)
		if got := ks.shape.prunes(m, true); got != libPrunes {
			t.Fatalf("%s: prunes %t, the library prunes %t (%v):\n%v", ks.kind, got, libPrunes, paths, m)
		}
		if libPrunes {
			pruned++
		}
		// Defaulting: the same object.
		want, got := runtime.DeepCopyJSON(m), runtime.DeepCopyJSON(m)
		defaulting.Default(want, ks.structural)
		ks.shape.applyDefaults(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: applyDefaults gives\n%v\ndefaulting.Default\n%v", ks.kind, got, want)
		}
		// List types: no error when the quick pass says so.
		if ks.shape.listsOK(m) {
			listsQuick++
			if errs := listtype.ValidateListSetsAndMaps(nil, ks.structural, m); len(errs) > 0 {
				t.Fatalf("%s: listsOK, the library finds %v in\n%v", ks.kind, errs, m)
			}
		}
		// Coercion: nothing to do when the quick pass says so.
		if ks.coercesNothing(m) {
			coerceQuick++
			c := runtime.DeepCopyJSON(m)
			ferr, unknown := schemaobjectmeta.CoerceWithOptions(nil, c, ks.structural, true,
				schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
			if ferr != nil || len(unknown) > 0 || !reflect.DeepEqual(c, m) {
				t.Fatalf("%s: coercesNothing, the library gives %v %v and\n%v\nfrom\n%v", ks.kind, ferr, unknown, c, m)
			}
		}
		// Metadata: decoded as the library decodes it.
		if meta, ok := plainMeta(m["metadata"], false); ok {
			metaQuick++
			lib, _, err := schemaobjectmeta.GetObjectMeta(runtime.DeepCopyJSON(m), false)
			if err != nil || !reflect.DeepEqual(meta, lib) {
				t.Fatalf("%s: plainMeta %#v, the library %#v, %v", ks.kind, meta, lib, err)
			}
		}
	}
	mutated := map[string]int{}
	for _, seed := range acceptSeeds(t) {
		kind, _ := seed["kind"].(string)
		ks := all[kind]
		check(ks, seed)
		if !ks.shape.listsOK(seed) || !ks.coercesNothing(seed) {
			t.Errorf("%s %v: a sample takes the library's path (listsOK %t, coercesNothing %t)",
				ks.kind, seed["metadata"], ks.shape.listsOK(seed), ks.coercesNothing(seed))
		}
		if mutated[ks.kind]++; mutated[ks.kind] > 2 {
			continue
		}
		mutants(seed, func(m map[string]any) { check(ks, m) })
	}
	t.Logf("%d objects: %d pruned; quick answers for list types %d, coercion %d, metadata %d", total, pruned, listsQuick, coerceQuick, metaQuick)
}
