package render_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

func TestEffective(t *testing.T) {
	defaults := &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}
	own := &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	std := newStandard(func(s *v1alpha1.PlatformStandardSpec) { s.WorkloadDefaults.Resources = defaults })
	for _, tc := range []struct {
		name string
		spec *corev1.ResourceRequirements
		std  *v1alpha1.PlatformStandard
		want *corev1.ResourceRequirements
	}{
		{"the spec's when set", own, std, own},
		{"the standard's when unset", nil, std, defaults},
		{"the standard's when empty ({})", &corev1.ResourceRequirements{}, std, defaults},
		{"none without either", nil, newStandard(nil), nil},
		{"none without a standard", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkload(func(w *v1alpha1.MarketingWorkload) { w.Spec.Resources = tc.spec })
			eff := render.Effective(w, tc.std)
			if !equality.Semantic.DeepEqual(eff.Resources, tc.want) {
				t.Errorf("resources = %v, want %v", eff.Resources, tc.want)
			}
			if tc.want != nil && (eff.Resources == tc.want || eff.Resources == tc.spec) {
				t.Error("the effective resources share memory with the inputs")
			}
			c, _ := mustRender(t, render.Inputs{Workload: w, Standard: tc.std, Now: mustTime(activeNow)})
			got := c.Deployment.Spec.Template.Spec.Containers[0].Resources
			if want := eff.Resources; want == nil && !equality.Semantic.DeepEqual(got, corev1.ResourceRequirements{}) || want != nil && !equality.Semantic.DeepEqual(got, *want) {
				t.Errorf("the Deployment runs with %v, status would say %v", got, eff.Resources)
			}
			if *eff.Replicas != 1 || eff.Labels[render.LabelInstance] != w.Name {
				t.Errorf("replicas %d, labels %v", *eff.Replicas, eff.Labels)
			}
		})
	}
}
