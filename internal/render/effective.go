package render

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Effective returns the values w runs with under std (nil: the built-in
// defaults): the standard's defaults applied where the spec says nothing.
// This is the one place those defaults are decided: the Deployment is
// rendered with them, the reconciler shows them in status.effective, and the
// policy engine hands them to policies (input.effective), so a change of the
// standard's defaults reaches every workload on its next reconcile and every
// door judges the same values. The result shares no memory with the inputs.
func Effective(w *v1alpha1.MarketingWorkload, std *v1alpha1.PlatformStandard) v1alpha1.EffectiveValues {
	return v1alpha1.EffectiveValues{
		Resources: EffectiveResources(w, std),
		Replicas:  EffectiveReplicas(w),
		Labels:    Labels(w),
	}
}

// EffectiveReplicas are the replicas while Active: spec.replicas, else 1.
func EffectiveReplicas(w *v1alpha1.MarketingWorkload) *int32 {
	return ptr.To(specReplicas(w))
}

// EffectiveResources are spec.resources when they ask for anything, else the
// standard's workloadDefaults.resources, else nil. A copy.
func EffectiveResources(w *v1alpha1.MarketingWorkload, std *v1alpha1.PlatformStandard) *corev1.ResourceRequirements {
	return effectiveResources(w, standardOf(std))
}

func effectiveResources(w *v1alpha1.MarketingWorkload, std *v1alpha1.PlatformStandardSpec) *corev1.ResourceRequirements {
	if !resourcesEmpty(w.Spec.Resources) {
		return w.Spec.Resources.DeepCopy()
	}
	if d := std.WorkloadDefaults.Resources; !resourcesEmpty(d) {
		return d.DeepCopy()
	}
	return nil
}

// resourcesEmpty reports whether r asks for nothing (absent or `{}`).
func resourcesEmpty(r *corev1.ResourceRequirements) bool {
	return r == nil || (len(r.Limits) == 0 && len(r.Requests) == 0 && len(r.Claims) == 0)
}
