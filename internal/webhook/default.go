package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

// defaulter fills in a MarketingWorkload what the PlatformStandard in force
// defines, so that the stored object shows what will run: the standard's
// workloadDefaults.resources when spec.resources is empty, and the team and
// cost-centre labels (the same values the reconciler puts on every child).
// It implements admission.Defaulter.
type defaulter struct {
	w *Webhooks
}

// Default mutates mw in place; the admission package computes the patch.
func (d *defaulter) Default(ctx context.Context, mw *v1alpha1.MarketingWorkload) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if d.w.exempted(req) || mw.DeletionTimestamp != nil {
		return nil
	}
	if resourcesEmpty(mw.Spec.Resources) && specChanged(req, mw) {
		namespace := mw.Namespace
		if namespace == "" {
			namespace = req.Namespace
		}
		ns, err := d.w.resolver.Namespace(ctx, namespace)
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf(errResolving, v1alpha1.KindMarketingWorkload, mw.Name, err))
		}
		std, err := d.w.resolver.Standard(ctx, ns.Labels)
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf(errResolving, v1alpha1.KindMarketingWorkload, mw.Name, err))
		}
		if std != nil && !resourcesEmpty(std.Spec.WorkloadDefaults.Resources) {
			mw.Spec.Resources = std.Spec.WorkloadDefaults.Resources.DeepCopy()
		}
	}
	derived := render.Labels(mw)
	for _, key := range []string{render.LabelTeam, render.LabelCostCenter} {
		if v, ok := derived[key]; ok {
			if mw.Labels == nil {
				mw.Labels = map[string]string{}
			}
			mw.Labels[key] = v
		}
	}
	return nil
}

// specChanged reports whether the request creates mw or changes its spec:
// a metadata-only update (labels, annotations, finalizers) is neither
// defaulted nor judged, so it never depends on the standard.
func specChanged(req admission.Request, mw *v1alpha1.MarketingWorkload) bool {
	if req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
		return true
	}
	var old v1alpha1.MarketingWorkload
	if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
		return true
	}
	return !equality.Semantic.DeepEqual(old.Spec, mw.Spec)
}

// resourcesEmpty reports whether r asks for nothing.
func resourcesEmpty(r *corev1.ResourceRequirements) bool {
	return r == nil || (len(r.Limits) == 0 && len(r.Requests) == 0 && len(r.Claims) == 0)
}
