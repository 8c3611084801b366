package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// guard denies raw Deployments, Services and Ingresses in managed
// namespaces: those the PlatformStandard in force selects with its
// managedNamespaceSelector. An object whose controller is a MarketingWorkload
// (as every child the operator creates is) passes, and so does every request
// from the operator itself. Only creates are judged: what already runs is
// never broken by a namespace becoming managed, and the operator re-attaches
// its children if someone removes their owner reference.
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
	name := obj.Name
	if name == "" {
		name = obj.GenerateName + "*"
	}
	namespace := req.Namespace
	std, managed, err := g.managedBy(ctx, namespace)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if !managed {
		return admission.Allowed("")
	}
	msg := fmt.Sprintf(msgGuardDenied, req.Kind.Kind, name, namespace, std)
	if owner := metav1.GetControllerOfNoCopy(&obj); owner != nil && isWorkload(owner) {
		var mw v1alpha1.MarketingWorkload
		err := g.w.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: owner.Name}, &mw)
		switch {
		case err == nil && mw.UID == owner.UID:
			return admission.Allowed("")
		case err == nil || apierrors.IsNotFound(err):
			msg = fmt.Sprintf(msgGuardOwnerMissing, req.Kind.Kind, name, owner.Name, namespace)
		default:
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	logf.FromContext(ctx).Info("denied", "kind", req.Kind.Kind, "check", CheckManagedNamespace)
	return admission.Denied(line(CheckManagedNamespace, "metadata.ownerReferences", msg, remGuard))
}

// managedBy returns the PlatformStandard in force for the namespace and
// whether its managedNamespaceSelector selects the namespace.
func (g *guard) managedBy(ctx context.Context, namespace string) (string, bool, error) {
	ns, err := g.w.resolver.Namespace(ctx, namespace)
	if err != nil {
		return "", false, err
	}
	std, err := g.w.resolver.Standard(ctx, ns.Labels)
	if err != nil || std == nil || std.Spec.ManagedNamespaceSelector == nil {
		return "", false, err
	}
	sel, err := metav1.LabelSelectorAsSelector(std.Spec.ManagedNamespaceSelector)
	if err != nil {
		return "", false, nil //nolint:nilerr // an invalid selector selects nothing; the standard's status reports it
	}
	return std.Name, sel.Matches(labels.Set(ns.Labels)), nil
}

func isWorkload(ref *metav1.OwnerReference) bool {
	group, _, _ := strings.Cut(ref.APIVersion, "/")
	return ref.Kind == v1alpha1.KindMarketingWorkload && group == v1alpha1.GroupVersion.Group
}
