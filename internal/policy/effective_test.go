package policy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// A workload without resources is judged with the standard's defaults, the
// values its Deployment is rendered with, whatever form it comes in.
func TestWorkloadLimitsJudgeEffectiveResources(t *testing.T) {
	e := newTestEngine(t, Options{ResultCacheSize: -1})
	// Default requests above the standard's own CPU ceiling (a mistake IT
	// can make): every workload relying on the defaults is denied.
	std := standard(func(s *v1alpha1.PlatformStandard) {
		s.Spec.WorkloadDefaults.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	})
	bare := workload(func(w *v1alpha1.MarketingWorkload) { w.Spec.Resources = &corev1.ResourceRequirements{} })
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(bare)
	if err != nil {
		t.Fatal(err)
	}
	m["kind"], m["apiVersion"] = v1alpha1.KindMarketingWorkload, v1alpha1.GroupVersion.String()
	for name, obj := range map[string]any{"typed": bare, "map": m} {
		d := evaluate(t, e, request(obj, withStandard(std)))
		var got []Result
		for _, r := range d.Results {
			if r.Policy == "workload-limits" {
				got = append(got, r)
			}
		}
		want := "CPU request 2 is above the platform maximum of 1 (the platform standard's default: spec.resources is empty)"
		if len(got) != 1 || got[0].Message != want || got[0].Field != "spec.resources.requests.cpu" {
			t.Errorf("%s: workload-limits results %+v, want one: %q", name, got, want)
		}
	}
	// The workload's own resources are judged, not the defaults.
	d := evaluate(t, e, request(workload(), withStandard(std)))
	for _, r := range d.Results {
		if r.Policy == "workload-limits" {
			t.Errorf("own resources within the limits: %+v", r)
		}
	}
}

func TestEffectiveTermReplicasDefault(t *testing.T) {
	w := workload(func(w *v1alpha1.MarketingWorkload) { w.Spec.Replicas = nil; w.Spec.Resources = nil })
	term, err := effectiveTerm(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := term.String(); got != `{"replicas": 1}` {
		t.Errorf("input.effective = %s", got)
	}
}
