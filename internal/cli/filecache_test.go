package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// checkCases are inputs check is run on in the tests below.
func checkCases() map[string]inputFlags {
	cases := map[string]inputFlags{
		"samples":           {files: []string{samples}},
		"policies/fixtures": {files: []string{builtins + "/fixtures"}},
		"clean":             {files: []string{fixtures + "/clean"}},
	}
	for _, dir := range []string{"bad-registry", "bad-vendor", "bad-residency", "bad-host", "bad-custom"} {
		cases[dir] = inputFlags{files: []string{fixtures + "/" + dir}, standard: catalogue + "/standard.yaml", vendors: []string{catalogue}}
	}
	return cases
}

// checkReports loads in, holding hold workloads and integrations (all when
// negative; the file cache holds cacheDocs documents), and evaluates every
// subject.
func checkReports(t *testing.T, in inputFlags, hold, cacheDocs int) ([]*ObjectReport, *World) {
	t.Helper()
	ctx := context.Background()
	now, err := time.Parse(time.RFC3339, testNow)
	if err != nil {
		t.Fatal(err)
	}
	in.namespace = DefaultNamespace
	in.now.t = now
	w, eng, errs := loadChecked(ctx, &env{fsys: osFS{}}, &in, hold)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if hold >= 0 {
		w.files.limit = cacheDocs
	}
	reports, err := evaluate(ctx, eng, w, w.subjects(), now)
	if err != nil {
		t.Fatal(err)
	}
	return reports, w
}

// A check reading its workloads and integrations again from their files
// decides exactly as one holding every object: with none held, also when
// the file cache holds a single document and so drops a file for nearly
// every object, and with some held and the others read again.
func TestLazyCheckDecidesLikeEager(t *testing.T) {
	for name, in := range checkCases() {
		t.Run(name, func(t *testing.T) {
			want, _ := checkReports(t, in, -1, 0)
			if len(want) == 0 {
				t.Fatal("nothing checked")
			}
			for _, c := range []struct{ hold, docs int }{{0, 1}, {0, fileCacheObjects}, {2, 1}, {checkHeldObjects, fileCacheObjects}} {
				got, w := checkReports(t, in, c.hold, c.docs)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("holding %d, with a cache of %d documents, the check differs:\n got %s\nwant %s", c.hold, c.docs, reportsText(got), reportsText(want))
				}
				if c.docs == 1 && len(w.files.files) > 1 {
					t.Errorf("a cache of 1 document holds %d files", len(w.files.files))
				}
				held := 0
				for _, it := range w.items {
					if lazyKind(it.kind) && it.obj != nil {
						held++
					}
				}
				if held > c.hold {
					t.Errorf("holding %d, %d workloads and integrations are held", c.hold, held)
				}
			}
		})
	}
}

func reportsText(reports []*ObjectReport) string {
	var b strings.Builder
	for _, o := range reports {
		b.WriteString("\n  " + o.Ref() + " " + o.Outcome())
		for _, r := range o.Results {
			b.WriteString(" " + r.Policy)
		}
	}
	return b.String()
}

// The World of a check holding none holds no workload or integration read
// from a file, only their names; those read from standard input it keeps,
// since they cannot be read again.
func TestLazyWorldHoldsNamesOnly(t *testing.T) {
	ctx := context.Background()
	si, err := os.ReadFile(filepath.Join(samples, "06_saasintegrations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in := inputFlags{files: []string{samples, "-"}, namespace: DefaultNamespace}
	// The sample integrations again, under other names, from stdin.
	stdin := strings.ReplaceAll(string(si), "\n  name: ", "\n  name: stdin-")
	w, errs := loadWorld(ctx, &env{fsys: osFS{}, stdin: strings.NewReader(stdin)}, &in, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var lazy, held int
	for _, it := range w.items {
		if !lazyKind(it.kind) {
			if it.obj == nil {
				t.Errorf("%s has no object", it.key())
			}
			continue
		}
		switch {
		case it.doc.File == stdinName && it.obj == nil:
			t.Errorf("%s from stdin was not kept", it.key())
		case it.doc.File == stdinName:
			held++
		case it.obj != nil:
			t.Errorf("%s from %s is held", it.key(), it.doc.Pos())
		default:
			lazy++
			obj, err := w.object(it)
			if err != nil {
				t.Fatalf("%s: %v", it.key(), err)
			}
			if obj.GetName() != it.name || obj.GetNamespace() != it.namespace || obj.GetUID() != it.uid || obj.GetUID() == "" {
				t.Errorf("%s read again as %s/%s uid %q, want uid %q", it.key(), obj.GetNamespace(), obj.GetName(), obj.GetUID(), it.uid)
			}
		}
	}
	if lazy == 0 || held == 0 {
		t.Errorf("%d lazy items and %d held from stdin, want some of each", lazy, held)
	}
}

// A file changed between reading the inputs and evaluating them stops the
// check with an error at the object's position, never a verdict on another
// object.
func TestLazyCheckFileChanged(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(samples, "07_marketingworkloads.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"workloads.yaml": string(src)})
	file := filepath.Join(dir, "workloads.yaml")
	in := inputFlags{files: []string{samples + "/01_platformstandard.yaml", samples + "/02_vendors.yaml", samples + "/06_saasintegrations.yaml", file}, namespace: DefaultNamespace}
	ctx := context.Background()
	w, eng, errs := loadChecked(ctx, &env{fsys: osFS{}}, &in, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	renamed := strings.Replace(string(src), "name: winter-sale-microsite", "name: spring-sale-microsite", 1)
	if renamed == string(src) {
		t.Fatal("the sample workload is not where the test expects it")
	}
	if err := os.WriteFile(file, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = evaluate(ctx, eng, w, w.subjects(), time.Now())
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("evaluating after the file changed: %v, want an InputError", err)
	}
	if ie.File != filepath.ToSlash(file) || ie.Line == 0 || !strings.Contains(ie.Msg, "changed") || !strings.Contains(ie.Msg, v1alpha1.KindMarketingWorkload+" growth-marketing/winter-sale-microsite") {
		t.Errorf("error %q, want one at %s:line naming the workload and the change", err, file)
	}
}
