package resolve

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// Snapshot is the world of one audit pass: the namespaces, standards,
// vendors, exceptions, integrations and workloads listed once, so that the
// requests of thousands of objects are built without listing the catalogue
// again for each. Requests are built by the same rule as Resolver.Request.
// The objects are the cache's own (listed without deep copies): a
// Snapshot and what it hands out are read only. Secrets' metadata is read
// through Reader when first asked for, once per Secret.
type Snapshot struct {
	reader       Resolver
	namespaces   map[string]map[string]string
	standards    []v1alpha1.PlatformStandard
	vendors      map[string]*v1alpha1.Vendor
	exceptions   []v1alpha1.PolicyException
	integrations map[types.NamespacedName]*v1alpha1.SaaSIntegration
	workloads    map[types.NamespacedName]*v1alpha1.MarketingWorkload

	mu      sync.Mutex
	secrets map[types.NamespacedName]secretEntry

	// usage is the vendor usage of every SaaSIntegration in the cluster
	// (a pass may list only some namespaces), listed once per pass.
	usage func() (*policy.Usage, error)
	// catalogue is the vendors converted once per pass.
	catalogue func() (*policy.Catalogue, error)

	// data.inventory (inventory.go): the managed children of every
	// namespace, listed once through reader, and the Namespaces of the
	// snapshot as its items, made once, when a workload first needs them.
	readsInventory func() bool
	nsList         []corev1.Namespace
	childrenOnce   sync.Once
	nsItems        []metaItem
	children       map[string][]metaItem
	childrenErr    error
}

type secretEntry struct {
	info policy.SecretInfo
	err  error
}

// SnapshotOf is what a Snapshot is made of: lists read by the caller.
type SnapshotOf struct {
	Namespaces   []corev1.Namespace
	Standards    []v1alpha1.PlatformStandard
	Vendors      []v1alpha1.Vendor
	Exceptions   []v1alpha1.PolicyException
	Integrations []v1alpha1.SaaSIntegration
	Workloads    []v1alpha1.MarketingWorkload
	// ReadsInventory is Resolver.ReadsInventory: when set and true, the
	// workloads' requests carry data.inventory, the managed children
	// listed once per Snapshot through the reader, and Namespaces.
	ReadsInventory func() bool
}

// NewSnapshot indexes the lists in of; Secrets are read through reader.
// The slices are kept, not copied.
func NewSnapshot(reader client.Reader, of SnapshotOf) *Snapshot {
	s := &Snapshot{
		reader:       Resolver{Reader: reader},
		namespaces:   make(map[string]map[string]string, len(of.Namespaces)),
		standards:    slices.Clone(of.Standards),
		vendors:      make(map[string]*v1alpha1.Vendor, len(of.Vendors)),
		exceptions:   of.Exceptions,
		integrations: make(map[types.NamespacedName]*v1alpha1.SaaSIntegration, len(of.Integrations)),
		workloads:    make(map[types.NamespacedName]*v1alpha1.MarketingWorkload, len(of.Workloads)),
		secrets:      map[types.NamespacedName]secretEntry{},

		readsInventory: of.ReadsInventory,
		nsList:         of.Namespaces,
	}
	for i := range of.Namespaces {
		s.namespaces[of.Namespaces[i].Name] = of.Namespaces[i].Labels
	}
	slices.SortFunc(s.standards, func(a, b v1alpha1.PlatformStandard) int { return strings.Compare(a.Name, b.Name) })
	for i := range of.Vendors {
		s.vendors[of.Vendors[i].Name] = &of.Vendors[i]
	}
	s.catalogue = sync.OnceValues(func() (*policy.Catalogue, error) { return policy.NewCatalogue(s.vendors) })
	s.usage = sync.OnceValues(func() (*policy.Usage, error) { return s.reader.Usage(context.Background()) })
	for i := range of.Integrations {
		si := &of.Integrations[i]
		s.integrations[types.NamespacedName{Namespace: si.Namespace, Name: si.Name}] = si
	}
	for i := range of.Workloads {
		mw := &of.Workloads[i]
		s.workloads[types.NamespacedName{Namespace: mw.Namespace, Name: mw.Name}] = mw
	}
	return s
}

// Request builds the engine request for obj as Resolver.Request does.
func (s *Snapshot) Request(ctx context.Context, obj client.Object, op policy.Operation, now time.Time) (policy.Request, error) {
	return build(ctx, s, obj, op, now)
}

// Namespace returns a namespace's name and labels (none when it is gone).
func (s *Snapshot) Namespace(_ context.Context, name string) (policy.Namespace, error) {
	if name == "" {
		return policy.Namespace{}, nil
	}
	return policy.Namespace{Name: name, Labels: s.namespaces[name]}, nil
}

// Standard returns the PlatformStandard in force for a namespace's labels.
func (s *Snapshot) Standard(_ context.Context, nsLabels map[string]string) (*v1alpha1.PlatformStandard, error) {
	return standardFor(s.standards, nsLabels), nil
}

// Vendors returns the catalogue by name (shared: read only).
func (s *Snapshot) Vendors(context.Context) (map[string]*v1alpha1.Vendor, error) {
	return s.vendors, nil
}

// Catalogue returns the catalogue, converted once per pass (shared: read
// only).
func (s *Snapshot) Catalogue(context.Context, ...string) (*policy.Catalogue, error) {
	return s.catalogue()
}

// Exceptions returns every PolicyException (shared: read only).
func (s *Snapshot) Exceptions(context.Context) ([]v1alpha1.PolicyException, error) {
	return s.exceptions, nil
}

// Integrations returns the SaaSIntegrations a workload references that exist.
func (s *Snapshot) Integrations(_ context.Context, mw *v1alpha1.MarketingWorkload) (map[string]*v1alpha1.SaaSIntegration, error) {
	out := make(map[string]*v1alpha1.SaaSIntegration, len(mw.Spec.Integrations))
	for _, ref := range mw.Spec.Integrations {
		if si := s.integrations[types.NamespacedName{Namespace: mw.Namespace, Name: ref.Name}]; si != nil {
			out[ref.Name] = si
		}
	}
	return out, nil
}

// Owner returns the MarketingWorkload controlling obj, if it exists. A
// workload created after the snapshot was taken is looked up in the reader:
// the audit lists raw objects from the API server after the snapshot, so a
// child the reconciler has just provisioned for a new workload is its, not
// shadow IT.
func (s *Snapshot) Owner(ctx context.Context, obj metav1.Object) (*v1alpha1.MarketingWorkload, error) {
	name, ok := workloadOwner(obj)
	if !ok {
		return nil, nil
	}
	if w := s.workloads[types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}]; w != nil {
		return w, nil
	}
	return s.reader.Owner(ctx, obj)
}

// Secret returns what policies may know of a Secret, read once per pass.
func (s *Snapshot) Secret(ctx context.Context, namespace, name string) (policy.SecretInfo, error) {
	key := types.NamespacedName{Namespace: namespace, Name: name}
	s.mu.Lock()
	e, ok := s.secrets[key]
	s.mu.Unlock()
	if ok {
		return e.info, e.err
	}
	info, err := s.reader.Secret(ctx, namespace, name)
	s.mu.Lock()
	s.secrets[key] = secretEntry{info, err}
	s.mu.Unlock()
	return info, err
}

// Inventory returns mw's data.inventory as Resolver.Inventory does, from
// the children listed once for the whole pass.
func (s *Snapshot) Inventory(ctx context.Context, mw *v1alpha1.MarketingWorkload) (*gatekeeper.Inventory, error) {
	if s.readsInventory == nil || !s.readsInventory() {
		return nil, nil
	}
	s.childrenOnce.Do(func() {
		all, err := listChildren(ctx, s.reader.Reader, "")
		if err != nil {
			s.childrenErr = err
			return
		}
		s.children = map[string][]metaItem{}
		for _, c := range all {
			s.children[c.meta.Namespace] = append(s.children[c.meta.Namespace], c)
		}
		s.nsItems = make([]metaItem, 0, len(s.nsList))
		for i := range s.nsList {
			s.nsItems = append(s.nsItems, metaItem{namespaceGVK, &metav1.PartialObjectMetadata{ObjectMeta: s.nsList[i].ObjectMeta}})
		}
		slices.SortFunc(s.nsItems, byKindName)
	})
	if s.childrenErr != nil {
		return nil, s.childrenErr
	}
	return inventoryOf(ctx, mw, s.children[mw.Namespace], s.nsItems)
}

// Usage returns the vendor usage of every SaaSIntegration in the cluster,
// listed through the reader once per pass (a pass may list only some
// namespaces; usage is cluster-wide).
func (s *Snapshot) Usage(context.Context) (*policy.Usage, error) {
	return s.usage()
}
