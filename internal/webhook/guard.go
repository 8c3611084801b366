package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// guard denies raw Deployments, Services and Ingresses in managed
// namespaces: the engine's built-in unmanaged-workload decides (the same
// verdict the background audit reports on those that exist). An object
// whose controller is an existing MarketingWorkload (as every child the
// operator creates is) passes, and so does every request from the operator
// itself. A standard that disables unmanaged-workload, or sets its
// enforcement to audit, turns the guard off for its namespaces. Only
// creates are judged: what already runs is never broken by a namespace
// becoming managed (the audit reports it), and the operator re-attaches its
// children if someone removes their owner reference.
type guard struct {
	w *Webhooks
}

// Handle implements admission.Handler.
func (g *guard) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create || g.w.exempted(req) {
		return admission.Allowed("")
	}
	var obj metav1.PartialObjectMetadata
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf(errDecodingGuardedObj, req.Kind.Kind, err))
	}
	obj.Kind = req.Kind.Kind
	if obj.Namespace == "" {
		obj.Namespace = req.Namespace
	}
	preq, err := g.w.resolver.Request(ctx, &obj, policy.OperationCreate, g.w.clock.Now())
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf(errResolving, req.Kind.Kind, obj.Name, err))
	}
	d, err := g.w.engine.Evaluate(ctx, preq)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf(errEvaluating, req.Kind.Kind, obj.Name, err))
	}
	for _, r := range d.Results {
		if r.Policy == policy.PolicyUnmanagedWorkload && !r.Waived() && r.Enforcement != string(v1alpha1.EnforcementAudit) {
			logf.FromContext(ctx).Info("denied", "kind", req.Kind.Kind, "policy", r.Policy)
			return admission.Denied(resultLine(r))
		}
	}
	return admission.Allowed("")
}
