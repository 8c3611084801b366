package input

import (
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// DefaultCacheSize bounds the conversion cache; when full it starts over.
const DefaultCacheSize = 4096

// Cache keeps the AST form of the stored objects a request refers to
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
type Cache struct {
	mu   sync.RWMutex
	m    map[cacheKey]ast.Value
	size int
}

type cacheKey struct {
	part            string // "" for a whole object, "spec" for a standard's spec
	uid             types.UID
	resourceVersion string
}

// NewCache returns a conversion cache holding up to size values
// (DefaultCacheSize when size is not positive).
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{m: make(map[cacheKey]ast.Value), size: size}
}

// Len is the number of values the cache holds.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// keyOf returns the cache key of o, or false when o must not be cached.
func keyOf(o metav1.Object, part string) (cacheKey, bool) {
	k := cacheKey{part: part, uid: o.GetUID(), resourceVersion: o.GetResourceVersion()}
	return k, k.uid != "" && k.resourceVersion != ""
}

func (c *Cache) get(k cacheKey) (ast.Value, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *Cache) put(k cacheKey, v ast.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.size {
		c.m = make(map[cacheKey]ast.Value)
	}
	c.m[k] = v
}

// Object converts a catalogue object for the input, through the cache when
// the object allows it. A nil object gives nil.
func (c *Cache) Object(x Stored) (*Object, error) {
	if IsNilPointer(x) {
		return nil, nil
	}
	k, cacheable := keyOf(x, "")
	if cacheable {
		if v, hit := c.get(k); hit {
			obj, _ := typedObjectMeta(x)
			obj.Value = v
			return obj, nil
		}
	}
	obj, err := TypedObject(x)
	if err != nil {
		return nil, err
	}
	if cacheable {
		c.put(k, obj.Value)
	}
	return obj, nil
}

// StandardSpec converts a PlatformStandard's spec, through the cache.
func (c *Cache) StandardSpec(s *v1alpha1.PlatformStandard) (ast.Value, error) {
	k, cacheable := keyOf(s, "spec")
	if cacheable {
		if v, hit := c.get(k); hit {
			return v, nil
		}
	}
	v, err := JSONValue(&s.Spec)
	if err != nil {
		return nil, fmt.Errorf("policy: converting standard %q: %w", s.Name, err)
	}
	if cacheable {
		c.put(k, v)
	}
	return v, nil
}
