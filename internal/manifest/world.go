package manifest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// DefaultNamespace is the namespace of namespaced objects that name none,
// as with kubectl.
const DefaultNamespace = "default"

// Item is one of our objects: typed, with the document it came from.
type Item struct {
	Kind    string
	Object  client.Object // *v1alpha1.MarketingWorkload, ...; not to be changed
	Subject bool          // given with Inputs.Files: checked and reported

	doc             *Document // nil for objects read from a cluster
	namespace, name string
}

func newItem(doc *Document, kind string, obj client.Object, subject bool) *Item {
	return &Item{doc: doc, Kind: kind, namespace: obj.GetNamespace(), name: obj.GetName(), Object: obj, Subject: subject}
}

// Key is "Kind/namespace/name", or "Kind/name" for cluster-scoped kinds.
func (it *Item) Key() string { return objectKey(it.Kind, it.namespace, it.name) }

// Pos is "file:line" of the item, or "cluster".
func (it *Item) Pos() string {
	if it.doc == nil {
		return "cluster"
	}
	return it.doc.Pos()
}

// Position is the file and line of the item's document; "" and 0 for an
// object read from a cluster.
func (it *Item) Position() (file string, line int) {
	if it.doc == nil {
		return "", 0
	}
	return it.doc.File, it.doc.Line
}

// objectKey is "Kind/namespace/name", or "Kind/name" for cluster-scoped kinds.
func objectKey(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// World is everything the inputs say about the cluster: our objects,
// Namespaces and the metadata of Secrets. It answers the resolver's reads
// (it is a client.Reader), so the requests the CLI hands the engine are
// built by the same code as the webhook's and the reconcilers'.
type World struct {
	items      []*Item
	byKey      map[string]*Item
	byKind     map[string][]*Item // items by kind, in input order
	namespaces map[string]*corev1.Namespace
	secrets    map[string]*metav1.PartialObjectMetadata // by namespace/name
	// secretsComplete says every Secret is known (a cluster listing): a
	// Secret that is not there does not exist. Offline, one that is not
	// among the inputs is unknown, and left out of input.secrets.
	secretsComplete bool
	// standard, when set (--standard), is the PlatformStandard in force for
	// every object; otherwise the resolver picks one as in the cluster.
	standard *v1alpha1.PlatformStandard
	// uidPrefix makes the UIDs given to objects read from files unique to
	// this World (see add).
	uidPrefix string
	// Gatekeeper templates and constraints (see gatekeeper.go), and by
	// key; inventory, every other object not of our group.
	templates, constraints []*Gatekeeper
	gatekeeper             map[string]*Gatekeeper
	inventory              []*unstructured.Unstructured
	// packed are the foreign documents for the inventory, in input order,
	// most held as text until it is asked for (unpackInventory, once, into
	// inventory).
	packed []*Document
	unpack sync.Once
	// inventoryValue converts inventory for the engine once, on the
	// first Request that needs it (none when inventory is empty).
	inventoryValue func() (*gatekeeper.Inventory, error)
	// usage is the vendor usage of the SaaSIntegrations (usage.go), made
	// on the first request that needs it.
	usage func() (*policy.Usage, error)
	// catalogue is the Vendors converted for the engine, once, on the
	// first request (usage.go).
	catalogue func() (*policy.Catalogue, error)
}

func newWorld() *World {
	var b [8]byte
	_, _ = rand.Read(b[:])
	w := &World{
		uidPrefix:  "guardrails-check-" + hex.EncodeToString(b[:]),
		byKey:      map[string]*Item{},
		byKind:     map[string][]*Item{},
		namespaces: map[string]*corev1.Namespace{},
		secrets:    map[string]*metav1.PartialObjectMetadata{},
		gatekeeper: map[string]*Gatekeeper{},
	}
	w.inventoryValue = sync.OnceValues(func() (*gatekeeper.Inventory, error) { return gatekeeper.NewInventory(w.Inventory()) })
	w.usage = sync.OnceValues(w.vendorUsage)
	w.catalogue = sync.OnceValues(w.vendorCatalogue)
	return w
}

// add records an item; a second object with the same kind, namespace and
// name is an error unless it is the same document read twice.
func (w *World) add(it *Item) error {
	k := it.Key()
	if prev, ok := w.byKey[k]; ok {
		if sameDocument(prev.doc, it.doc) {
			prev.Subject = prev.Subject || it.Subject
			return nil
		}
		return fmt.Errorf("%s %s is given twice (also at %s)", it.Kind, nsName(it.namespace, it.name), prev.Pos())
	}
	// Objects read from files have no UID or resourceVersion. Within one
	// World they never change, so each gets a UID of its own and version
	// 1, as the API server would give it: the engine then converts each
	// catalogue object (vendors, standard, integrations) once per run
	// rather than once per object judged against it.
	uid := types.UID(w.uidPrefix + "-" + strconv.Itoa(len(w.items)))
	if it.Object.GetUID() == "" {
		it.Object.SetUID(uid)
		if it.Object.GetResourceVersion() == "" {
			it.Object.SetResourceVersion("1")
		}
	}
	w.byKey[k] = it
	w.byKind[it.Kind] = append(w.byKind[it.Kind], it)
	w.items = append(w.items, it)
	return nil
}

// sameDocument reports whether a and b are one document read twice: the
// same file and line.
func sameDocument(a, b *Document) bool {
	return a != nil && b != nil && a.File == b.File && a.Line == b.Line
}

func nsName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Objects returns the items of one kind, in input order.
func Objects[T client.Object](w *World) []T {
	var out []T
	for _, it := range w.items {
		if o, ok := it.Object.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// Items returns every item, in input order.
func (w *World) Items() []*Item { return w.items }

// SetStandard puts std in force for every object (--standard).
func (w *World) SetStandard(std *v1alpha1.PlatformStandard) { w.standard = std }

// GuardrailPolicies returns the GuardrailPolicies among the inputs.
func (w *World) GuardrailPolicies() []*Item {
	var out []*Item
	for _, it := range w.items {
		if it.Kind == v1alpha1.KindGuardrailPolicy {
			out = append(out, it)
		}
	}
	return out
}

// Subjects returns the items to check, in input order.
func (w *World) Subjects() []*Item {
	var out []*Item
	for _, it := range w.items {
		if it.Subject {
			out = append(out, it)
		}
	}
	return out
}

// Request builds the engine request for obj as the webhook does (through
// internal/resolve), with operation CHECK.
func (w *World) Request(ctx context.Context, obj client.Object, now time.Time) (policy.Request, error) {
	req, err := resolve.Resolver{Reader: w}.Request(ctx, obj, policy.OperationCheck, now)
	if err != nil {
		return policy.Request{}, err
	}
	if !w.secretsComplete {
		for name, si := range req.Secrets {
			if !si.Exists {
				delete(req.Secrets, name) // unknown offline, not missing
			}
		}
		if len(req.Secrets) == 0 {
			req.Secrets = nil
		}
	}
	if w.standard != nil {
		req.Standard = w.standard
	}
	if len(w.packed) > 0 { // not changed once loaded: safe to read concurrently
		inv, err := w.inventoryValue()
		if err != nil {
			return req, err
		}
		req.Inventory = inv
	}
	return req, nil
}

// StandardFor returns the PlatformStandard in force for a namespace.
func (w *World) StandardFor(ctx context.Context, namespace string) *v1alpha1.PlatformStandard {
	if w.standard != nil {
		return w.standard
	}
	r := resolve.Resolver{Reader: w}
	ns, err := r.Namespace(ctx, namespace)
	if err != nil {
		return nil
	}
	std, err := r.Standard(ctx, ns.Labels)
	if err != nil {
		return nil
	}
	return std
}

// The World is a client.Reader over the inputs.
var _ client.Reader = (*World)(nil)

// Scheme knows our kinds and the core kinds, for the World and the CLI.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

// Get implements client.Reader.
func (w *World) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	switch o := obj.(type) {
	case *corev1.Namespace:
		ns, ok := w.namespaces[key.Name]
		if !ok {
			return notFound("namespaces", key.Name)
		}
		ns.DeepCopyInto(o)
		return nil
	case *metav1.PartialObjectMetadata:
		gvk := o.GroupVersionKind()
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			ns, ok := w.namespaces[key.Name]
			if !ok {
				return notFound("namespaces", key.Name)
			}
			ns.ObjectMeta.DeepCopyInto(&o.ObjectMeta)
			return nil
		}
		if gvk.Group != "" || gvk.Kind != "Secret" {
			return fmt.Errorf("manifest: reading metadata of %s is not supported offline", gvk)
		}
		s, ok := w.secrets[key.Namespace+"/"+key.Name]
		if !ok {
			return notFound("secrets", key.Name)
		}
		s.DeepCopyInto(o)
		return nil
	}
	kind, err := kindOf(obj)
	if err != nil {
		return err
	}
	it, ok := w.byKey[objectKey(kind, key.Namespace, key.Name)]
	if !ok {
		return notFound(strings.ToLower(kind)+"s", key.Name)
	}
	o := it.Object
	// A deep copy into the caller's object, as a cached client's Get does.
	dst, src := reflect.ValueOf(obj), reflect.ValueOf(o.DeepCopyObject())
	if dst.Type() != src.Type() {
		return fmt.Errorf("manifest: reading %s into %T", kind, obj)
	}
	dst.Elem().Set(src.Elem())
	return nil
}

// List implements client.Reader: every object of the list's kind (list
// options are not supported: the resolver uses none).
func (w *World) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if len(opts) > 0 {
		return fmt.Errorf("manifest: list options are not supported offline")
	}
	gvks, _, err := Scheme.ObjectKinds(list)
	if err != nil {
		return fmt.Errorf("manifest: listing %T: %w", list, err)
	}
	kind := strings.TrimSuffix(gvks[0].Kind, "List")
	// By kind, not a scan of every item: the resolver lists the Vendors,
	// PlatformStandards and PolicyExceptions for every object it builds a
	// request for, which would make a check quadratic in the inputs.
	objs := make([]runtime.Object, len(w.byKind[kind]))
	for i, it := range w.byKind[kind] {
		objs[i] = it.Object.DeepCopyObject()
	}
	return meta.SetList(list, objs)
}

func kindOf(obj runtime.Object) (string, error) {
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil {
		return "", fmt.Errorf("manifest: reading %T offline: %w", obj, err)
	}
	return gvks[0].Kind, nil
}

// ingestForeign records the Gatekeeper templates and constraints, the
// Namespaces and the metadata of the Secrets among the inputs; every
// object but the templates and constraints goes in the inventory.
func (w *World) ingestForeign(d *Document, gvk schema.GroupVersionKind, namespace string) error {
	if ok, err := w.ingestGatekeeper(d, gvk); ok {
		return err
	}
	if err := w.ingestCore(d, gvk); err != nil {
		return err
	}
	w.addInventory(d, gvk, namespace)
	return nil
}

// ingestCore records the Namespaces and the metadata of the Secrets.
func (w *World) ingestCore(d *Document, gvk schema.GroupVersionKind) error {
	if gvk.Group != "" || gvk.Version != "v1" {
		return nil
	}
	switch gvk.Kind {
	case "Namespace":
		var ns corev1.Namespace
		if err := metaOnly(d.Object, &ns.ObjectMeta); err != nil {
			return err
		}
		if ns.Name == "" {
			return fmt.Errorf("metadata.name: Required value: name is required")
		}
		w.namespaces[ns.Name] = &ns
	case "Secret":
		var s metav1.PartialObjectMetadata
		s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := metaOnly(d.Object, &s.ObjectMeta); err != nil {
			return err
		}
		if s.Name == "" {
			return fmt.Errorf("metadata.name: Required value: name is required")
		}
		if s.Namespace == "" {
			s.Namespace = DefaultNamespace
		}
		w.secrets[s.Namespace+"/"+s.Name] = &s
	}
	return nil
}

// metaOnly reads the metadata of a document, never its data.
func metaOnly(obj map[string]any, into *metav1.ObjectMeta) error {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		return fmt.Errorf("metadata.name: Required value: name is required")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(md, into); err != nil {
		return fmt.Errorf("metadata: Invalid value: %w", err)
	}
	return nil
}

// newTyped returns an empty typed object of one of our kinds (the kinds
// table, v1alpha1.LookupKind), nil for any other kind.
func newTyped(kind string) client.Object {
	k, ok := v1alpha1.LookupKind(kind)
	if !ok {
		return nil
	}
	return k.New()
}
