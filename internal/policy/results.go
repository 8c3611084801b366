package policy

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultResultCacheSize bounds each prepared query's result cache unless
// Options.ResultCacheSize says otherwise.
const DefaultResultCacheSize = 256

// resultCache remembers what one prepared query gave for an input, so that
// evaluating the same query on an equal input again (a SaaSIntegration
// judged for every workload that references it, in a burst of admissions
// or reconciles) costs a lookup instead of an evaluation.
//
// It is exact: an entry is found by the input's hash and used only when
// its input is equal to the one asked about, and a query's result depends
// on nothing else: the policies are compiled with capabilities that refuse
// every non-deterministic built-in (time.now_ns, rand.*, http.send, ...),
// read the time only from input.now, and the data they read
// (data.guardrails.taxonomy) never changes. A query that failed or ran out
// of time is not remembered. What the engine does with a result afterwards
// (exceptions, the standard's overrides and disabled list, namespace
// selectors) is applied on every evaluation, outside the cache.
//
// When full it starts over. A nil *resultCache remembers nothing.
type resultCache struct {
	mu   sync.Mutex
	m    map[int][]cachedResult // by the input's hash
	n    int
	size int
}

type cachedResult struct {
	input  ast.Value
	values []*ast.Term // shared: never modified
}

// newResultCache returns a cache of size entries: DefaultResultCacheSize
// for 0, none (nil) for a negative size.
func newResultCache(size int) *resultCache {
	switch {
	case size < 0:
		return nil
	case size == 0:
		size = DefaultResultCacheSize
	}
	return &resultCache{m: make(map[int][]cachedResult), size: size}
}

func (c *resultCache) get(input ast.Value) ([]*ast.Term, bool) {
	if c == nil {
		return nil, false
	}
	h := input.Hash()
	c.mu.Lock()
	entries := c.m[h]
	c.mu.Unlock()
	for _, en := range entries {
		if ast.Compare(en.input, input) == 0 {
			return en.values, true
		}
	}
	return nil, false
}

func (c *resultCache) put(input ast.Value, values []*ast.Term) {
	if c == nil {
		return
	}
	h := input.Hash()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= c.size {
		c.m = make(map[int][]cachedResult)
		c.n = 0
	}
	// A new slice: readers may hold the old one.
	c.m[h] = append(c.m[h][:len(c.m[h]):len(c.m[h])], cachedResult{input: input, values: values})
	c.n++
}
