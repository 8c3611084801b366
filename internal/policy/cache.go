package policy

import (
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// DefaultConversionCacheSize bounds the conversion cache; when full it
// starts over.
const DefaultConversionCacheSize = 4096

// convCache keeps the AST form of the stored objects a request refers to
// (vendors, the standard, integrations), so that the background audit and
// the reconcilers, which evaluate many objects against the same catalogue,
// convert each catalogue entry once rather than on every Evaluate.
//
// An object is cached only when it has both a UID and a resourceVersion: it
// is then taken to be an unmodified copy of what the API server stored, as
// informer caches hand out, and the API server never stores two contents
// under one resourceVersion. Objects without them (offline files, tests,
// objects being admitted) are always converted afresh, as is the object
// under evaluation itself.
type convCache struct {
	mu   sync.RWMutex
	m    map[convKey]ast.Value
	size int
}

type convKey struct {
	part            string // "" for a whole object, "spec" for a standard's spec
	uid             types.UID
	resourceVersion string
}

func newConvCache(size int) *convCache {
	if size <= 0 {
		size = DefaultConversionCacheSize
	}
	return &convCache{m: make(map[convKey]ast.Value), size: size}
}

// key returns the cache key of o, or false when o must not be cached.
func cacheKey(o metav1.Object, part string) (convKey, bool) {
	k := convKey{part: part, uid: o.GetUID(), resourceVersion: o.GetResourceVersion()}
	return k, k.uid != "" && k.resourceVersion != ""
}

func (c *convCache) get(k convKey) (ast.Value, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *convCache) put(k convKey, v ast.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.size {
		c.m = make(map[convKey]ast.Value)
	}
	c.m[k] = v
}

// storedObject is a catalogue object: a Vendor, a SaaSIntegration.
type storedObject interface {
	metav1.Object
	runtime.Object
}

// object converts a catalogue object for the input, through the cache when
// the object allows it. A nil object gives nil.
func (c *convCache) object(x storedObject) (*object, error) {
	if isNilPointer(x) {
		return nil, nil
	}
	k, cacheable := cacheKey(x, "")
	if cacheable {
		if v, hit := c.get(k); hit {
			obj, _ := typedObjectMeta(x)
			obj.value = v
			return obj, nil
		}
	}
	obj, err := typedObject(x)
	if err != nil {
		return nil, err
	}
	if cacheable {
		c.put(k, obj.value)
	}
	return obj, nil
}

// standardSpec converts a PlatformStandard's spec, through the cache.
func (c *convCache) standardSpec(s *v1alpha1.PlatformStandard) (ast.Value, error) {
	k, cacheable := cacheKey(s, "spec")
	if cacheable {
		if v, hit := c.get(k); hit {
			return v, nil
		}
	}
	v, err := jsonValue(&s.Spec)
	if err != nil {
		return nil, fmt.Errorf("policy: converting standard %q: %w", s.Name, err)
	}
	if cacheable {
		c.put(k, v)
	}
	return v, nil
}
