package render_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

const samplesDir = "../../config/samples"

// samples are the objects of config/samples, typed.
type samples struct {
	standard     *v1alpha1.PlatformStandard // the one named default
	vendors      map[string]*v1alpha1.Vendor
	integrations map[string]map[string]*v1alpha1.SaaSIntegration // namespace -> name ->
	workloads    []*v1alpha1.MarketingWorkload                   // file order
	secrets      []*corev1.Secret
}

func loadSamples(tb testing.TB) *samples {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no samples in %s: %v", samplesDir, err)
	}
	sort.Strings(files)
	s := &samples{vendors: map[string]*v1alpha1.Vendor{}, integrations: map[string]map[string]*v1alpha1.SaaSIntegration{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			decode := func(into any) {
				tb.Helper()
				if err := yaml.Unmarshal(doc, into); err != nil {
					tb.Fatalf("%s: decode %s: %v", f, tm.Kind, err)
				}
			}
			if tm.APIVersion == "v1" && tm.Kind == "Secret" {
				sec := &corev1.Secret{}
				decode(sec)
				s.secrets = append(s.secrets, sec)
				continue
			}
			if tm.APIVersion != v1alpha1.GroupVersion.String() {
				continue
			}
			switch tm.Kind {
			case v1alpha1.KindPlatformStandard:
				ps := &v1alpha1.PlatformStandard{}
				decode(ps)
				if ps.Name == v1alpha1.DefaultStandardName {
					s.standard = ps
				}
			case v1alpha1.KindVendor:
				v := &v1alpha1.Vendor{}
				decode(v)
				s.vendors[v.Name] = v
			case v1alpha1.KindSaaSIntegration:
				si := &v1alpha1.SaaSIntegration{}
				decode(si)
				if s.integrations[si.Namespace] == nil {
					s.integrations[si.Namespace] = map[string]*v1alpha1.SaaSIntegration{}
				}
				s.integrations[si.Namespace][si.Name] = si
			case v1alpha1.KindMarketingWorkload:
				w := &v1alpha1.MarketingWorkload{}
				decode(w)
				s.workloads = append(s.workloads, w)
			}
		}
	}
	if len(s.workloads) == 0 {
		tb.Fatalf("no MarketingWorkloads in %s", samplesDir)
	}
	return s
}

// inputs renders w the way the reconciler would: the standard in force, the
// integrations of w's namespace, the whole vendor catalogue.
func (s *samples) inputs(w *v1alpha1.MarketingWorkload, now string) render.Inputs {
	return render.Inputs{
		Workload:     w,
		Standard:     s.standard,
		Integrations: s.integrations[w.Namespace],
		Vendors:      s.vendors,
		Now:          mustTime(now),
	}
}

func (s *samples) workload(tb testing.TB, name string) *v1alpha1.MarketingWorkload {
	tb.Helper()
	for _, w := range s.workloads {
		if w.Name == name {
			return w.DeepCopy()
		}
	}
	tb.Fatalf("no sample MarketingWorkload %q", name)
	return nil
}
