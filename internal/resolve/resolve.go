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
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
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
	// ReadsInventory, when set, says whether a constraint in force reads
	// data.inventory (policy.Engine.ReadsInventory): a MarketingWorkload's
	// request then carries the inventory (Inventory). Unset: none is
	// listed, the engine's own rendered children only.
	ReadsInventory func() bool
	// Catalogues, when set, keeps the catalogue converted between two
	// changes of a Vendor (the manager: one for every door). Unset, each
	// request lists and converts it, unless Reader is a CatalogueReader.
	Catalogues *Catalogues
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
	return standardFor(list.Items, nsLabels), nil
}

// standardFor is the rule of Standard over standards sorted by name.
func standardFor(standards []v1alpha1.PlatformStandard, nsLabels map[string]string) *v1alpha1.PlatformStandard {
	var def *v1alpha1.PlatformStandard
	for i := range standards {
		s := &standards[i]
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
			return s
		}
	}
	return def
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

// Catalogue returns the catalogue converted for the engine: the Reader's
// own when it keeps one (CatalogueReader), else Catalogues' (names are the
// vendors the request names, see Catalogues.Get), else nil: the request
// then carries Vendors (Request).
func (r Resolver) Catalogue(ctx context.Context, names ...string) (*policy.Catalogue, error) {
	if cr, ok := r.Reader.(CatalogueReader); ok {
		return cr.Catalogue(ctx)
	}
	if r.Catalogues != nil {
		return r.Catalogues.Get(ctx, names...)
	}
	// None kept: the request carries Vendors, which the engine converts
	// through its conversion cache (objects read from the API server are
	// converted once per resourceVersion).
	return nil, nil
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

// UsageReader is a Reader that keeps the vendor usage of its
// SaaSIntegrations itself (the CLI's World, which reads them once per run
// rather than listing them for every request).
type UsageReader interface {
	VendorUsage(ctx context.Context) (*policy.Usage, error)
}

// Usage returns how the cluster's SaaSIntegrations use the catalogue
// (policy.Usage, input.portfolio): every SaaSIntegration, listed.
func (r Resolver) Usage(ctx context.Context) (*policy.Usage, error) {
	if u, ok := r.Reader.(UsageReader); ok {
		return u.VendorUsage(ctx)
	}
	var list v1alpha1.SaaSIntegrationList
	// Read only: NewUsage keeps names and times, no pointer.
	if err := r.Reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing SaaSIntegrations: %w", err)
	}
	return usageOf(list.Items), nil
}

func usageOf(items []v1alpha1.SaaSIntegration) *policy.Usage {
	ptrs := make([]*v1alpha1.SaaSIntegration, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	return policy.NewUsage(ptrs)
}

// Exceptions returns every PolicyException (the engine ignores expired ones).
func (r Resolver) Exceptions(ctx context.Context) ([]v1alpha1.PolicyException, error) {
	var list v1alpha1.PolicyExceptionList
	if err := r.Reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing PolicyExceptions: %w", err)
	}
	return list.Items, nil
}

// Owner returns the MarketingWorkload obj's controller reference names,
// in obj's namespace, when there is one (nil when it does not exist).
func (r Resolver) Owner(ctx context.Context, obj metav1.Object) (*v1alpha1.MarketingWorkload, error) {
	name, ok := workloadOwner(obj)
	if !ok {
		return nil, nil
	}
	var mw v1alpha1.MarketingWorkload
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}, &mw)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading MarketingWorkload %s/%s: %w", obj.GetNamespace(), name, err)
	}
	return &mw, nil
}

// workloadOwner returns the name of the MarketingWorkload controlling obj.
func workloadOwner(obj metav1.Object) (string, bool) {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.Kind != v1alpha1.KindMarketingWorkload {
		return "", false
	}
	group, _, _ := strings.Cut(ref.APIVersion, "/")
	return ref.Name, group == v1alpha1.GroupVersion.Group
}

// Request builds the engine request for obj (a typed object of our API, or
// a Deployment, Service or Ingress for unmanaged-workload) with everything
// the policies may look at.
func (r Resolver) Request(ctx context.Context, obj client.Object, op policy.Operation, now time.Time) (policy.Request, error) {
	return build(ctx, r, obj, op, now)
}

// world is what a request is built from: the cluster read through a client
// (Resolver), or the objects one audit pass listed once (Snapshot).
type world interface {
	Namespace(ctx context.Context, name string) (policy.Namespace, error)
	Standard(ctx context.Context, nsLabels map[string]string) (*v1alpha1.PlatformStandard, error)
	Catalogue(ctx context.Context, names ...string) (*policy.Catalogue, error)
	Vendors(ctx context.Context) (map[string]*v1alpha1.Vendor, error)
	Exceptions(ctx context.Context) ([]v1alpha1.PolicyException, error)
	Integrations(ctx context.Context, mw *v1alpha1.MarketingWorkload) (map[string]*v1alpha1.SaaSIntegration, error)
	Secret(ctx context.Context, namespace, name string) (policy.SecretInfo, error)
	Owner(ctx context.Context, obj metav1.Object) (*v1alpha1.MarketingWorkload, error)
	Inventory(ctx context.Context, mw *v1alpha1.MarketingWorkload) (*gatekeeper.Inventory, error)
	Usage(ctx context.Context) (*policy.Usage, error)
}

// build is the one way a request is built, whatever it is built from.
func build(ctx context.Context, w world, obj client.Object, op policy.Operation, now time.Time) (policy.Request, error) {
	ns, err := w.Namespace(ctx, obj.GetNamespace())
	if err != nil {
		return policy.Request{}, err
	}
	std, err := w.Standard(ctx, ns.Labels)
	if err != nil {
		return policy.Request{}, err
	}
	req := policy.Request{Operation: op, Object: obj, Namespace: ns, Standard: std, Now: now}
	if kind := UnmanagedKind(obj); kind != "" {
		req.Object = policy.UnmanagedObject(kind, obj)
		req.Owner, err = w.Owner(ctx, obj)
		return req, err
	}
	mw, _ := obj.(*v1alpha1.MarketingWorkload)
	if mw != nil {
		// Read first: the catalogue checks their vendors (Catalogues.Get).
		if req.Integrations, err = w.Integrations(ctx, mw); err != nil {
			return policy.Request{}, err
		}
	}
	if req.Catalogue, err = w.Catalogue(ctx, vendorsNamed(obj, req.Integrations)...); err != nil {
		return policy.Request{}, err
	}
	if req.Catalogue != nil {
		req.Vendors = req.Catalogue.Vendors()
	} else if req.Vendors, err = w.Vendors(ctx); err != nil {
		return policy.Request{}, err
	}
	if req.Exceptions, err = w.Exceptions(ctx); err != nil {
		return policy.Request{}, err
	}
	switch o := obj.(type) {
	case *v1alpha1.MarketingWorkload:
		if len(req.Integrations) > 0 {
			// The integrations are judged with the workload, usage and all.
			if req.Usage, err = w.Usage(ctx); err != nil {
				return policy.Request{}, err
			}
		}
		if req.Inventory, err = w.Inventory(ctx, o); err != nil {
			return policy.Request{}, err
		}
		req.Secrets = map[string]policy.SecretInfo{}
		for _, si := range req.Integrations {
			if err := addSecret(ctx, w, req.Secrets, si); err != nil {
				return policy.Request{}, err
			}
		}
	case *v1alpha1.SaaSIntegration:
		req.Secrets = map[string]policy.SecretInfo{}
		if err := addSecret(ctx, w, req.Secrets, o); err != nil {
			return policy.Request{}, err
		}
		if req.Usage, err = w.Usage(ctx); err != nil {
			return policy.Request{}, err
		}
	case *v1alpha1.Vendor:
		if req.Usage, err = w.Usage(ctx); err != nil {
			return policy.Request{}, err
		}
	}
	return req, nil
}

// vendorsNamed is the vendors obj names: a SaaSIntegration's, the Vendor
// itself, or a MarketingWorkload's integrations' (sorted, once each).
func vendorsNamed(obj client.Object, integrations map[string]*v1alpha1.SaaSIntegration) []string {
	switch o := obj.(type) {
	case *v1alpha1.SaaSIntegration:
		return []string{o.Spec.Vendor}
	case *v1alpha1.Vendor:
		return []string{o.Name}
	case *v1alpha1.MarketingWorkload:
		names := make([]string, 0, len(integrations))
		for _, si := range integrations {
			if si != nil && si.Spec.Vendor != "" {
				names = append(names, si.Spec.Vendor)
			}
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	return nil
}

// UnmanagedKind returns the kind of a Deployment, Service or Ingress, the
// kinds unmanaged-workload judges, and "" for any other object.
func UnmanagedKind(obj client.Object) string {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return policy.KindDeployment
	case *corev1.Service:
		return policy.KindService
	case *networkingv1.Ingress:
		return policy.KindIngress
	case *metav1.PartialObjectMetadata:
		if _, ok := policy.UnmanagedKinds[o.Kind]; ok {
			return o.Kind
		}
	}
	return ""
}

func addSecret(ctx context.Context, w world, into map[string]policy.SecretInfo, si *v1alpha1.SaaSIntegration) error {
	if si.Spec.Credentials == nil || si.Spec.Credentials.SecretName == "" {
		return nil
	}
	info, err := w.Secret(ctx, si.Namespace, si.Spec.Credentials.SecretName)
	if errors.Is(err, ErrSecretUnreadable) {
		return nil // unknown: left out of the request
	}
	if err != nil {
		return err
	}
	into[si.Spec.Credentials.SecretName] = info
	return nil
}
