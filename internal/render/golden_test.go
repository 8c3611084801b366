package render_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/internal/render"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current render")

// goldenTime is the instant the goldens are rendered at.
const goldenTime = "2026-12-01T00:00:00Z"

// TestGolden renders every sample MarketingWorkload and compares the
// children with testdata/<name>.golden.yaml. Run `go test ./internal/render
// -run TestGolden -update` after an intended change and review the diff.
func TestGolden(t *testing.T) {
	s := loadSamples(t)
	for _, w := range s.workloads {
		t.Run(w.Name, func(t *testing.T) {
			children, lc, err := render.Render(s.inputs(w, goldenTime))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := manifest(t, lc, children.Objects())
			path := filepath.Join("testdata", w.Name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("render of %s differs from %s (run with -update after an intended change):\n%s", w.Name, path, lineDiff(string(want), string(got)))
			}
		})
	}
}

// manifest is a multi-document YAML of objs, headed by the lifecycle. Status
// is left out: the reconciler never applies it.
func manifest(tb testing.TB, lc render.Lifecycle, objs []client.Object) []byte {
	tb.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Rendered at %s: phase %s, replicas %d, exposed %t, next transition %s.\n",
		goldenTime, lc.Phase, lc.Replicas, lc.Exposed, formatTime(lc.NextTransition))
	for _, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			tb.Fatal(err)
		}
		delete(u, "status")
		y, err := yaml.Marshal(u)
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// lineDiff shows the first lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	var b bytes.Buffer
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 20; i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}
