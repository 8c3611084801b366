// Package resolve gathers, through a client, the world an object is judged
// in: the PlatformStandard in force, the vendor catalogue, the integrations a
// workload references, Secret metadata and PolicyExceptions. Reconcilers,
// webhooks and the audit use it to build the one policy.Request the engine
// decides on.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// RotatedAtAnnotation on a credentials Secret records when it was last
// rotated (RFC 3339); without it the Secret's creation time counts.
const RotatedAtAnnotation = "martech.guardrails.dev/rotated-at"

// ErrSecretUnreadable says the operator may not read a Secret's metadata
// (no credential-reader Role in its namespace): its credential age is
// unknown, as offline, and credential-age says nothing of it.
var ErrSecretUnreadable = errors.New("the operator may not read Secrets here")

// Resolver reads the cluster through Reader (a cached client in the manager).
type Resolver struct {
	Reader client.Reader
}

// Standard returns the PlatformStandard in force for a namespace: a
// non-default standard whose managedNamespaceSelector matches the namespace's
// labels (first by name), else the one named `default`, else nil.
func (r Resolver) Standard(ctx context.Context, nsLabels map[string]string) (*v1alpha1.PlatformStandard, error) {
	var list v1alpha1.PlatformStandardList
	if err := r.Reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing PlatformStandards: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var def *v1alpha1.PlatformStandard
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == v1alpha1.DefaultStandardName {
			def = s
			continue
		}
		if nsLabels == nil || s.Spec.ManagedNamespaceSelector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(s.Spec.ManagedNamespaceSelector)
		if err != nil {
			continue
		}
		if sel.Matches(labels.Set(nsLabels)) {
			return s, nil
		}
	}
	return def, nil
}

// Namespace returns a namespace's name and labels (empty labels when it is
// gone). Only metadata is read: in the manager the Namespace informer then
// holds no spec or status (controllers.CacheOptions).
func (r Resolver) Namespace(ctx context.Context, name string) (policy.Namespace, error) {
	if name == "" {
		return policy.Namespace{}, nil
	}
	ns := NamespaceMetadata()
	if err := r.Reader.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return policy.Namespace{Name: name}, nil
		}
		return policy.Namespace{}, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return policy.Namespace{Name: name, Labels: ns.Labels}, nil
}

// NamespaceMetadata is how the resolver reads Namespaces: metadata only.
func NamespaceMetadata() *metav1.PartialObjectMetadata {
	var m metav1.PartialObjectMetadata
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return &m
}

// SecretMetadata is how the resolver reads Secrets: metadata only.
func SecretMetadata() *metav1.PartialObjectMetadata {
	var m metav1.PartialObjectMetadata
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return &m
}

// Vendors returns the whole catalogue by name.
func (r Resolver) Vendors(ctx context.Context) (map[string]*v1alpha1.Vendor, error) {
	var list v1alpha1.VendorList
	if err := r.Reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing Vendors: %w", err)
	}
	out := make(map[string]*v1alpha1.Vendor, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// Integrations returns the SaaSIntegrations a workload references that exist.
func (r Resolver) Integrations(ctx context.Context, mw *v1alpha1.MarketingWorkload) (map[string]*v1alpha1.SaaSIntegration, error) {
	out := make(map[string]*v1alpha1.SaaSIntegration, len(mw.Spec.Integrations))
	for _, ref := range mw.Spec.Integrations {
		var si v1alpha1.SaaSIntegration
		err := r.Reader.Get(ctx, types.NamespacedName{Namespace: mw.Namespace, Name: ref.Name}, &si)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading SaaSIntegration %s/%s: %w", mw.Namespace, ref.Name, err)
		}
		out[ref.Name] = &si
	}
	return out, nil
}

// Secret returns what policies may know of a Secret: whether it exists and
// its age. Only metadata is read; values never leave the API server. Where
// the operator may not read Secrets, the error wraps ErrSecretUnreadable
// and Request leaves the Secret out (unknown).
func (r Resolver) Secret(ctx context.Context, namespace, name string) (policy.SecretInfo, error) {
	meta := SecretMetadata()
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, meta)
	if apierrors.IsNotFound(err) {
		return policy.SecretInfo{Exists: false}, nil
	}
	if apierrors.IsForbidden(err) {
		return policy.SecretInfo{}, fmt.Errorf("%w: Secret %s/%s: %v", ErrSecretUnreadable, namespace, name, err)
	}
	if err != nil {
		return policy.SecretInfo{}, fmt.Errorf("reading Secret metadata %s/%s: %w", namespace, name, err)
	}
	info := policy.SecretInfo{Exists: true, CreatedAt: meta.CreationTimestamp.Time}
	if v, ok := meta.Annotations[RotatedAtAnnotation]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			info.RotatedAt = t
		}
	}
	return info, nil
}

// Exceptions returns every PolicyException (the engine ignores expired ones).
func (r Resolver) Exceptions(ctx context.Context) ([]v1alpha1.PolicyException, error) {
	var list v1alpha1.PolicyExceptionList
	if err := r.Reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing PolicyExceptions: %w", err)
	}
	return list.Items, nil
}

// Request builds the engine request for obj (a typed object of our API) with
// everything the policies may look at.
func (r Resolver) Request(ctx context.Context, obj client.Object, op policy.Operation, now time.Time) (policy.Request, error) {
	ns, err := r.Namespace(ctx, obj.GetNamespace())
	if err != nil {
		return policy.Request{}, err
	}
	std, err := r.Standard(ctx, ns.Labels)
	if err != nil {
		return policy.Request{}, err
	}
	vendors, err := r.Vendors(ctx)
	if err != nil {
		return policy.Request{}, err
	}
	exceptions, err := r.Exceptions(ctx)
	if err != nil {
		return policy.Request{}, err
	}
	req := policy.Request{
		Operation:  op,
		Object:     obj,
		Namespace:  ns,
		Standard:   std,
		Vendors:    vendors,
		Exceptions: exceptions,
		Now:        now,
	}
	switch o := obj.(type) {
	case *v1alpha1.MarketingWorkload:
		if req.Integrations, err = r.Integrations(ctx, o); err != nil {
			return policy.Request{}, err
		}
		req.Secrets = map[string]policy.SecretInfo{}
		for _, si := range req.Integrations {
			if err := r.addSecret(ctx, req.Secrets, si); err != nil {
				return policy.Request{}, err
			}
		}
	case *v1alpha1.SaaSIntegration:
		req.Secrets = map[string]policy.SecretInfo{}
		if err := r.addSecret(ctx, req.Secrets, o); err != nil {
			return policy.Request{}, err
		}
	}
	return req, nil
}

func (r Resolver) addSecret(ctx context.Context, into map[string]policy.SecretInfo, si *v1alpha1.SaaSIntegration) error {
	if si.Spec.Credentials == nil || si.Spec.Credentials.SecretName == "" {
		return nil
	}
	info, err := r.Secret(ctx, si.Namespace, si.Spec.Credentials.SecretName)
	if errors.Is(err, ErrSecretUnreadable) {
		return nil // unknown: left out of the request
	}
	if err != nil {
		return err
	}
	into[si.Spec.Credentials.SecretName] = info
	return nil
}
