package render

import (
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// FieldOwner is the server-side apply field manager of every child, and the
// value of the app.kubernetes.io/managed-by label.
const FieldOwner = "martech-guardrails"

// Built-in defaults, used where the workload and the standard (or a missing
// standard) say nothing.
const (
	// DefaultReplicas while Active when spec.replicas is unset.
	DefaultReplicas int32 = 1
	// DefaultPort the container listens on when spec.port is unset.
	DefaultPort int32 = 8080
	// DefaultPath served on an exposed host when exposure.path is unset.
	DefaultPath = "/"
	// DefaultArchiveAfter is how long after endsAt a campaign is archived
	// when the standard does not say (30 days).
	DefaultArchiveAfter = 720 * time.Hour
	// DefaultIngressNamespace is where the ingress controller runs when the
	// standard does not say; only it may reach exposed workloads.
	DefaultIngressNamespace = "ingress-nginx"
	// ServicePort is the port the Service listens on; it targets the
	// container port named ContainerPortName.
	ServicePort int32 = 80
	// ContainerPortName names the container port; the Service and the
	// Ingress refer to it by name.
	ContainerPortName = "http"
	// ContainerName is the name of the workload's only container.
	ContainerName = "app"
	// EgressConfigMapSuffix makes the allow-list ConfigMap's name.
	EgressConfigMapSuffix = "-egress"
	// TLSSecretSuffix makes the name of the Secret cert-manager fills for
	// the Ingress.
	TLSSecretSuffix = "-tls"
	// AllowListKey and VendorsKey are the data keys of the allow-list ConfigMap.
	AllowListKey = "allowlist.txt"
	VendorsKey   = "vendors.txt"
	// ClusterIssuerAnnotation asks cert-manager for a certificate.
	ClusterIssuerAnnotation = "cert-manager.io/cluster-issuer"
)

// Errors Render returns, for errors.Is. Messages name the offending field.
var (
	// ErrNotFound: an integration the workload references is not among the
	// inputs. The reconciler should wait for it (it may not exist yet).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the inputs cannot make valid children (a nil workload, a
	// name a Service cannot take, colliding environment variables...).
	ErrInvalid = errors.New("invalid input")
)

// Inputs are everything a render depends on.
type Inputs struct {
	// Workload to render; required.
	Workload *v1alpha1.MarketingWorkload
	// Standard in force; nil means the built-in defaults.
	Standard *v1alpha1.PlatformStandard
	// Integrations by name: at least those the workload references.
	Integrations map[string]*v1alpha1.SaaSIntegration
	// Vendors by name: at least those the integrations name. A vendor that
	// is missing opens no egress CIDRs (the render fails closed; the
	// vendor-approved policy reports it).
	Vendors map[string]*v1alpha1.Vendor
	// Now decides the campaign phase.
	Now time.Time
}

// Children are the objects the reconciler applies for one workload. A nil
// field is an object that must not exist (see Absent).
type Children struct {
	ServiceAccount *corev1.ServiceAccount
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	// Ingress is nil when the workload is not exposed or not Active.
	Ingress       *networkingv1.Ingress
	NetworkPolicy *networkingv1.NetworkPolicy
	// EgressAllowList is the ConfigMap <name>-egress.
	EgressAllowList *corev1.ConfigMap
	// PDB is nil unless the Deployment runs more than one replica.
	PDB *policyv1.PodDisruptionBudget
}

// Render builds the children of in.Workload at in.Now. An Archived workload
// has no children (all fields nil). Errors wrap ErrNotFound or ErrInvalid.
func Render(in Inputs) (Children, Lifecycle, error) {
	w := in.Workload
	if w == nil {
		return Children{}, Lifecycle{}, fmt.Errorf("%w: workload is nil", ErrInvalid)
	}
	lc := PhaseAt(w, in.Standard, in.Now)
	if err := validateWorkload(w); err != nil {
		return Children{}, lc, err
	}
	if lc.Phase == v1alpha1.PhaseArchived {
		// Nothing to resolve: the integrations may be gone by now, and the
		// reconciler only needs to know that every child goes.
		return Children{}, lc, nil
	}
	integrations, err := resolveIntegrations(w, in.Integrations)
	if err != nil {
		return Children{}, lc, err
	}
	std := standardOf(in.Standard)
	proxy, err := parseEgressProxy(std.Network.EgressProxy)
	if err != nil {
		return Children{}, lc, err
	}
	r := renderer{w: w, std: std, lc: lc, integrations: integrations, vendors: in.Vendors, proxy: proxy}
	deploy, err := r.deployment()
	if err != nil {
		return Children{}, lc, err
	}
	netpol, err := r.networkPolicy()
	if err != nil {
		return Children{}, lc, err
	}
	return Children{
		ServiceAccount:  r.serviceAccount(),
		Deployment:      deploy,
		Service:         r.service(),
		Ingress:         r.ingress(),
		NetworkPolicy:   netpol,
		EgressAllowList: r.egressAllowList(),
		PDB:             r.pdb(),
	}, lc, nil
}

// Objects are the non-nil children in apply order: ServiceAccount,
// NetworkPolicy, allow-list ConfigMap, Service, Deployment,
// PodDisruptionBudget, Ingress. The fence goes up before the pods start and
// the workload is published last.
func (c Children) Objects() []client.Object {
	all := []client.Object{c.ServiceAccount, c.NetworkPolicy, c.EgressAllowList, c.Service, c.Deployment, c.PDB, c.Ingress}
	out := make([]client.Object, 0, len(all))
	for _, o := range all {
		if !isNil(o) {
			out = append(out, o)
		}
	}
	return out
}

// Refs are the children as status.resources entries, in Objects order.
func (c Children) Refs() []v1alpha1.ResourceRef {
	objs := c.Objects()
	refs := make([]v1alpha1.ResourceRef, 0, len(objs))
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		refs = append(refs, v1alpha1.ResourceRef{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: o.GetName()})
	}
	return refs
}

// Absent are the children w may have had that c does not contain, as empty
// objects with TypeMeta, name and namespace set: what the reconciler deletes
// (ignoring NotFound). For an Archived workload that is every child kind.
func Absent(w *v1alpha1.MarketingWorkload, c Children) []client.Object {
	present := map[schema.GroupVersionKind]bool{}
	for _, p := range c.Objects() {
		present[p.GetObjectKind().GroupVersionKind()] = true
	}
	var out []client.Object
	for _, o := range emptyChildren(w) {
		if !present[o.GetObjectKind().GroupVersionKind()] {
			out = append(out, o)
		}
	}
	return out
}

// OwnedTypes are empty objects of every child kind, for the controller's
// builder.Owns watches and RBAC.
func OwnedTypes() []client.Object {
	return []client.Object{
		&corev1.ServiceAccount{}, &networkingv1.NetworkPolicy{}, &corev1.ConfigMap{},
		&corev1.Service{}, &appsv1.Deployment{}, &policyv1.PodDisruptionBudget{}, &networkingv1.Ingress{},
	}
}

func emptyChildren(w *v1alpha1.MarketingWorkload) []client.Object {
	m := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: w.Namespace} }
	n := w.Name
	return []client.Object{
		&corev1.ServiceAccount{TypeMeta: typeMeta(corev1.SchemeGroupVersion.String(), "ServiceAccount"), ObjectMeta: m(n)},
		&networkingv1.NetworkPolicy{TypeMeta: typeMeta(networkingv1.SchemeGroupVersion.String(), "NetworkPolicy"), ObjectMeta: m(n)},
		&corev1.ConfigMap{TypeMeta: typeMeta(corev1.SchemeGroupVersion.String(), "ConfigMap"), ObjectMeta: m(n + EgressConfigMapSuffix)},
		&corev1.Service{TypeMeta: typeMeta(corev1.SchemeGroupVersion.String(), "Service"), ObjectMeta: m(n)},
		&appsv1.Deployment{TypeMeta: typeMeta(appsv1.SchemeGroupVersion.String(), "Deployment"), ObjectMeta: m(n)},
		&policyv1.PodDisruptionBudget{TypeMeta: typeMeta(policyv1.SchemeGroupVersion.String(), "PodDisruptionBudget"), ObjectMeta: m(n)},
		&networkingv1.Ingress{TypeMeta: typeMeta(networkingv1.SchemeGroupVersion.String(), "Ingress"), ObjectMeta: m(n)},
	}
}

// isNil reports whether o is nil or a typed nil pointer.
func isNil(o client.Object) bool {
	switch v := o.(type) {
	case nil:
		return true
	case *corev1.ServiceAccount:
		return v == nil
	case *corev1.ConfigMap:
		return v == nil
	case *corev1.Service:
		return v == nil
	case *appsv1.Deployment:
		return v == nil
	case *policyv1.PodDisruptionBudget:
		return v == nil
	case *networkingv1.Ingress:
		return v == nil
	case *networkingv1.NetworkPolicy:
		return v == nil
	}
	return false
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// standardOf returns the spec in force, the zero spec (all built-in
// defaults) when there is no standard.
func standardOf(s *v1alpha1.PlatformStandard) *v1alpha1.PlatformStandardSpec {
	if s == nil {
		return &v1alpha1.PlatformStandardSpec{}
	}
	return &s.Spec
}

// validateWorkload rejects what no child could be made from. Most of it the
// CRD schema already rejects; Render also serves the CLI, which reads files.
func validateWorkload(w *v1alpha1.MarketingWorkload) error {
	// Children are named after the workload; a Service name must be a DNS
	// label, stricter than the subdomain the API allows for a workload.
	if errs := validation.IsDNS1123Label(w.Name); len(errs) > 0 {
		return fmt.Errorf("%w: metadata.name %q cannot name the workload's Service: %s", ErrInvalid, w.Name, errs[0])
	}
	if w.Spec.Image == "" {
		return fmt.Errorf("%w: spec.image is empty", ErrInvalid)
	}
	if w.Spec.Replicas != nil && *w.Spec.Replicas < 0 {
		return fmt.Errorf("%w: spec.replicas is %d, must not be negative", ErrInvalid, *w.Spec.Replicas)
	}
	if p := w.Spec.Port; p != 0 && (p < 1 || p > 65535) {
		return fmt.Errorf("%w: spec.port is %d, must be 1-65535", ErrInvalid, p)
	}
	if e := w.Spec.Exposure; e != nil && e.Host == "" {
		return fmt.Errorf("%w: spec.exposure.host is empty", ErrInvalid)
	}
	return nil
}

// resolveIntegrations returns the referenced integrations in spec order.
func resolveIntegrations(w *v1alpha1.MarketingWorkload, all map[string]*v1alpha1.SaaSIntegration) ([]*v1alpha1.SaaSIntegration, error) {
	out := make([]*v1alpha1.SaaSIntegration, 0, len(w.Spec.Integrations))
	seen := make(map[string]int, len(w.Spec.Integrations))
	for i, ref := range w.Spec.Integrations {
		if j, dup := seen[ref.Name]; dup {
			return nil, fmt.Errorf("%w: spec.integrations[%d] repeats integration %q of spec.integrations[%d]", ErrInvalid, i, ref.Name, j)
		}
		seen[ref.Name] = i
		si := all[ref.Name]
		if si == nil {
			return nil, fmt.Errorf("integration %q referenced by spec.integrations[%d] %w", ref.Name, i, ErrNotFound)
		}
		out = append(out, si)
	}
	return out, nil
}

// renderer holds one render's resolved inputs.
type renderer struct {
	w            *v1alpha1.MarketingWorkload
	std          *v1alpha1.PlatformStandardSpec
	lc           Lifecycle
	integrations []*v1alpha1.SaaSIntegration // spec order
	vendors      map[string]*v1alpha1.Vendor
	proxy        *egressProxy // nil without a proxy
}

func (r *renderer) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.w.Namespace, Labels: Labels(r.w)}
}

func (r *renderer) port() int32 {
	if r.w.Spec.Port == 0 {
		return DefaultPort
	}
	return r.w.Spec.Port
}
