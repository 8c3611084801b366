package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/internal/gitops"
)

// TestFixtures runs the check on the objects the controllers' envtest run
// wrote (GITOPS_FIXTURES=1 go test ./controllers/): each file is named after
// the health Argo CD must show for it.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range files {
		want := map[string]string{"healthy": gitops.Healthy, "progressing": gitops.Progressing, "degraded": gitops.Degraded}[strings.SplitN(filepath.Base(f), "-", 2)[0]]
		if want == "" {
			t.Fatalf("%s: the name must start with healthy-, progressing- or degraded-", f)
		}
		obj := readObject(t, f)
		h, err := gitops.ArgoHealth(obj)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if h.Status != want {
			t.Errorf("%s: health %s (%s), want %s", f, h.Status, h.Message, want)
		}
		if h.Message == "" {
			t.Errorf("%s: no message", f)
		}
		seen[want]++
	}
	for _, s := range []string{gitops.Healthy, gitops.Progressing, gitops.Degraded} {
		if seen[s] == 0 {
			t.Errorf("no fixture for %s", s)
		}
	}
}

func readObject(t *testing.T, f string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return obj
}

// TestShapes covers the states no fixture holds: no status at all (an
// object read from a cluster where the CRD's default is older), an older
// observedGeneration, Reconciling, and waiting (Ready=False, not Stalled).
func TestShapes(t *testing.T) {
	cond := func(typ, status, reason, msg string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg}
	}
	for _, tc := range []struct {
		name, want, message string
		obj                 map[string]any
	}{
		{"no status", gitops.Progressing, "generation 1", map[string]any{"metadata": map[string]any{"generation": int64(1)}}},
		{"older generation observed", gitops.Progressing, "generation 3", map[string]any{
			"metadata": map[string]any{"generation": int64(3)},
			"status":   map[string]any{"observedGeneration": int64(2), "conditions": []any{cond("Ready", "True", "Provisioned", "ok")}},
		}},
		{"reconciling", gitops.Progressing, "rolling out", map[string]any{
			"metadata": map[string]any{"generation": int64(2)},
			"status":   map[string]any{"observedGeneration": int64(2), "conditions": []any{cond("Ready", "False", "Reconciling", ""), cond("Reconciling", "True", "Reconciling", "rolling out")}},
		}},
		{"waiting for an integration", gitops.Progressing, "integration cdp-events", map[string]any{
			"metadata": map[string]any{"generation": int64(1)},
			"status": map[string]any{"observedGeneration": int64(1), "conditions": []any{
				cond("Ready", "False", "WaitingForIntegration", "integration cdp-events not found"), cond("Stalled", "False", "WaitingForIntegration", ""),
			}},
		}},
		{"expired exception", gitops.Degraded, "expired at", map[string]any{
			"metadata": map[string]any{"generation": int64(1)},
			"status": map[string]any{"observedGeneration": int64(1), "conditions": []any{
				cond("Ready", "False", "Expired", "expired at 2026-01-01T00:00:00Z"), cond("Stalled", "True", "Expired", "expired at 2026-01-01T00:00:00Z"),
			}},
		}},
		{"blocked without a Stalled condition", gitops.Degraded, "denied", map[string]any{
			"metadata": map[string]any{"generation": int64(1)},
			"status":   map[string]any{"observedGeneration": int64(1), "phase": "Blocked", "conditions": []any{cond("Ready", "False", "PolicyDenied", "denied")}},
		}},
		{"float numbers, as JSON decodes them", gitops.Healthy, "fine", map[string]any{
			"metadata": map[string]any{"generation": float64(4)},
			"status":   map[string]any{"observedGeneration": float64(4), "conditions": []any{cond("Ready", "True", "Compliant", "fine")}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := gitops.ArgoHealth(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tc.want || !strings.Contains(h.Message, tc.message) {
				t.Errorf("got %s (%q), want %s with %q", h.Status, h.Message, tc.want, tc.message)
			}
		})
	}
}

// TestShipped: the chart's argocd-cm snippet holds this check for every
// kind, and docs/gitops.md shows that snippet as it is.
func TestShipped(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "charts", "martech-guardrails", "files", "argocd-health.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var snippet map[string]string
	if err := yaml.Unmarshal(b, &snippet); err != nil {
		t.Fatal(err)
	}
	kinds := []string{"GuardrailPolicy", "MarketingWorkload", "PlatformStandard", "PolicyException", "SaaSIntegration", "Vendor"}
	if len(snippet) != len(kinds) {
		t.Errorf("the snippet has %d checks, want %d", len(snippet), len(kinds))
	}
	for _, k := range kinds {
		got, ok := snippet["resource.customizations.health.martech.guardrails.dev_"+k]
		if !ok {
			t.Errorf("no health check for %s", k)
			continue
		}
		if got != gitops.HealthLua {
			t.Errorf("the check for %s differs from health.lua: run `make chart`", k)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(b)) {
		t.Error("docs/gitops.md does not show charts/martech-guardrails/files/argocd-health.yaml as it is: paste it again")
	}
}
