package v1alpha1

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is an object of one of the six kinds. Every kind's status embeds
// CommonStatus; GetCommonStatus returns it, for writing.
// +kubebuilder:object:generate=false
type Object interface {
	metav1.Object
	runtime.Object
	GetCommonStatus() *CommonStatus
}

// ObjectList is a list of one of the six kinds (the method set of
// controller-runtime's client.ObjectList).
// +kubebuilder:object:generate=false
type ObjectList interface {
	metav1.ListInterface
	runtime.Object
}

// Compliance is implemented by the kinds whose status says whether the
// object is compliant (status.compliant): MarketingWorkload and
// SaaSIntegration.
// +kubebuilder:object:generate=false
type Compliance interface {
	GetCompliant() *bool
	SetCompliant(*bool)
}

// Kind is what the code needs to know about one of the six kinds. The
// table below is the one list of them: the scheme (AddToScheme), Namespaced,
// KindOf and LookupKind read it, and so does every package that handles
// "any of our kinds" (CONTRIBUTING.md, "Add a kind").
// +kubebuilder:object:generate=false
type Kind struct {
	// Name is the kind as users write it (apiVersion/kind, policy targets).
	Name string
	// Namespaced is the scope of its CRD.
	Namespaced bool
	// New returns an empty object; NewList an empty list.
	New     func() Object
	NewList func() ObjectList
}

// kinds are the six kinds: catalogue first, then what is judged against it.
var kinds = []Kind{
	{KindPlatformStandard, false, func() Object { return &PlatformStandard{} }, func() ObjectList { return &PlatformStandardList{} }},
	{KindVendor, false, func() Object { return &Vendor{} }, func() ObjectList { return &VendorList{} }},
	{KindGuardrailPolicy, false, func() Object { return &GuardrailPolicy{} }, func() ObjectList { return &GuardrailPolicyList{} }},
	{KindPolicyException, true, func() Object { return &PolicyException{} }, func() ObjectList { return &PolicyExceptionList{} }},
	{KindSaaSIntegration, true, func() Object { return &SaaSIntegration{} }, func() ObjectList { return &SaaSIntegrationList{} }},
	{KindMarketingWorkload, true, func() Object { return &MarketingWorkload{} }, func() ObjectList { return &MarketingWorkloadList{} }},
}

// Indexes of the table: by name, by pointer type (*Vendor), by value type
// (Vendor).
var (
	kindByName    = map[string]int{}
	kindByPointer = map[reflect.Type]int{}
	kindByValue   = map[reflect.Type]int{}
)

func init() {
	for i, k := range kinds {
		kindByName[k.Name] = i
		t := reflect.TypeOf(k.New())
		kindByPointer[t] = i
		kindByValue[t.Elem()] = i
	}
}

// Kinds returns the six kinds (a copy of the table).
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// LookupKind returns the kind named name, and whether it is one of ours.
func LookupKind(name string) (Kind, bool) {
	i, ok := kindByName[name]
	if !ok {
		return Kind{}, false
	}
	return kinds[i], true
}

// KindOf returns the kind of a pointer to one of our types (*Vendor),
// whatever its TypeMeta says, and whether x is one.
func KindOf(x any) (Kind, bool) {
	i, ok := kindByPointer[reflect.TypeOf(x)]
	if !ok {
		return Kind{}, false
	}
	return kinds[i], true
}

// PointerTo returns a pointer to a copy of x when x is one of our types
// passed by value (Vendor rather than *Vendor), and whether it was.
func PointerTo(x any) (Object, bool) {
	t := reflect.TypeOf(x)
	if _, ok := kindByValue[t]; !ok {
		return nil, false
	}
	p := reflect.New(t)
	p.Elem().Set(reflect.ValueOf(x))
	return p.Interface().(Object), true //nolint:forcetypeassert // kindByValue holds only the element types of Objects
}

// Namespaced reports whether kind, one of the six kinds, lives in a
// namespace (the scope of its CRD), and whether kind is one of them.
func Namespaced(kind string) (namespaced, known bool) {
	k, ok := LookupKind(kind)
	return k.Namespaced, ok
}

// addKnownTypes registers the table's types with a scheme.
func addKnownTypes(s *runtime.Scheme) error {
	for _, k := range kinds {
		s.AddKnownTypeWithName(GroupVersion.WithKind(k.Name), k.New())
		s.AddKnownTypeWithName(GroupVersion.WithKind(k.Name+"List"), k.NewList())
	}
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// GetCommonStatus returns the workload's common status.
func (o *MarketingWorkload) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCommonStatus returns the integration's common status.
func (o *SaaSIntegration) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCommonStatus returns the vendor's common status.
func (o *Vendor) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCommonStatus returns the standard's common status.
func (o *PlatformStandard) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCommonStatus returns the policy's common status.
func (o *GuardrailPolicy) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCommonStatus returns the exception's common status.
func (o *PolicyException) GetCommonStatus() *CommonStatus { return &o.Status.CommonStatus }

// GetCompliant returns status.compliant.
func (o *MarketingWorkload) GetCompliant() *bool { return o.Status.Compliant }

// SetCompliant sets status.compliant.
func (o *MarketingWorkload) SetCompliant(c *bool) { o.Status.Compliant = c }

// GetCompliant returns status.compliant.
func (o *SaaSIntegration) GetCompliant() *bool { return o.Status.Compliant }

// SetCompliant sets status.compliant.
func (o *SaaSIntegration) SetCompliant(c *bool) { o.Status.Compliant = c }
