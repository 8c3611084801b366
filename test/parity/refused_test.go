package parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// refusedDir holds objects the API refuses (a `# refused: <field>` comment
// each): they are never stored, so only the doors that read them can judge
// them, the webhook dry-run (door a) and `guardrails check` (door b).
const refusedDir = "refused"

var refusedLine = regexp.MustCompile(`(?m)^#\s*refused:\s*(\S+)\s*$`)

var separator = regexp.MustCompile(`(?m)^---\s*$`)

// refusedCase is one document of refused/.
type refusedCase struct {
	where string // file:document
	text  []byte
	field string
	obj   *unstructured.Unstructured
}

func loadRefused() ([]refusedCase, error) {
	files, err := filepath.Glob(filepath.Join(refusedDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no cases in %s/: %w", refusedDir, err)
	}
	var out []refusedCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, text := range separator.Split(string(data), -1) {
			where := fmt.Sprintf("%s document %d", f, i+1)
			m := refusedLine.FindStringSubmatch(text)
			if m == nil {
				return nil, fmt.Errorf("%s: no `# refused: <field>` line", where)
			}
			obj := map[string]any{}
			if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, refusedCase{where: where, text: []byte(text), field: m[1], obj: &unstructured.Unstructured{Object: obj}})
		}
	}
	return out, nil
}

// TestRefusedCorpus checks the cases parse, without a cluster.
func TestRefusedCorpus(t *testing.T) {
	cases, err := loadRefused()
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range cases {
		if rc.obj.GetKind() == "" || rc.obj.GetName() == "" {
			t.Errorf("%s: no kind or name", rc.where)
		}
	}
}

// checkRefused runs every refused case through door (a), a dry-run create
// that must be Invalid with a cause at the field, and door (b), `guardrails
// check` of the document alone, which must exit 2 naming the field.
func checkRefused(ctx context.Context, t *testing.T, c *cluster, bin string) {
	t.Helper()
	cases, err := loadRefused()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, rc := range cases {
		// Door (a).
		err := c.judged.Create(ctx, rc.obj.DeepCopy(), client.DryRunAll)
		var se *apierrors.StatusError
		switch {
		case err == nil:
			t.Errorf("%s: (a) the API server accepted it, want Invalid at %s", rc.where, rc.field)
		case !errors.As(err, &se) || !apierrors.IsInvalid(err):
			t.Errorf("%s: (a) %v, want Invalid at %s", rc.where, err, rc.field)
		default:
			found := false
			if d := se.Status().Details; d != nil {
				for _, cause := range d.Causes {
					found = found || (cause.Field == rc.field && strings.Contains(cause.Message, "supported range"))
				}
			}
			if !found {
				t.Errorf("%s: (a) %v: no cause at %s naming the supported range", rc.where, err, rc.field)
			}
		}

		// Door (b).
		file := filepath.Join(dir, fmt.Sprintf("case-%d.yaml", i))
		if err := os.WriteFile(file, rc.text, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, bin, "check", "--now", suiteNow.UTC().Format(time.RFC3339), "-f", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%s: (b) guardrails check: %v, want exit 2\n%s%s", rc.where, err, stdout.String(), stderr.String())
			continue
		}
		if !strings.Contains(stderr.String(), rc.field+": Invalid value") || !strings.Contains(stderr.String(), "supported range") {
			t.Errorf("%s: (b) stderr does not name %s and the supported range:\n%s", rc.where, rc.field, stderr.String())
		}
	}
	fmt.Printf("parity: %d refused objects, 2 doors\n", len(cases))
}
