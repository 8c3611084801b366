package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
	"github.com/martech-guardrails/guardrails/internal/taxonomy"
	"github.com/martech-guardrails/guardrails/policies"
)

// DefaultTimeout is the time budget of one policy evaluating one object.
const DefaultTimeout = 100 * time.Millisecond

// DefaultRequestBudget is the time budget of one Evaluate call: the object
// and every SaaSIntegration it references, all policies together. It stays
// below the admission webhooks' 5 s timeout, so a slow policy gives error
// results rather than a webhook call that times out.
const DefaultRequestBudget = 2 * time.Second

// Options configure an Engine.
type Options struct {
	// Timeout is the time budget of each policy evaluating one object (the
	// built-ins targeting a kind share one budget); DefaultTimeout when zero.
	Timeout time.Duration
	// RequestBudget is the time budget of one Evaluate call across every
	// policy, the object's and its integrations' (DefaultRequestBudget when
	// zero): once spent, the policies not yet run give error results.
	RequestBudget time.Duration
	// Registerer, when set, receives the engine's Prometheus metrics.
	Registerer prometheus.Registerer
	// ResultCacheSize bounds how many results each prepared query
	// remembers (see resultCache): DefaultResultCacheSize when zero, none
	// when negative.
	ResultCacheSize int
	// MaxPolicySetRego bounds the Rego of every GuardrailPolicy in force
	// together (spec.rego and spec.libs, in bytes):
	// DefaultMaxPolicySetRego when zero.
	MaxPolicySetRego int
}

// DefaultMaxPolicySetRego is the most Rego (bytes of spec.rego and
// spec.libs, every GuardrailPolicy together) the engine holds. Compiled,
// Rego takes about 45 times its size (200 policies of 64 KiB, 12.5 MiB,
// held 579 MiB of heap): 2 MiB of Rego holds about 90 MiB, well under the
// manager's 512 MiB with the built-ins, the caches and the informers.
const DefaultMaxPolicySetRego = 2 << 20

// Engine compiles and evaluates policies. It is safe for concurrent use: the
// policies in force are an immutable set swapped atomically by SetPolicies.
type Engine struct {
	timeout  time.Duration
	budget   time.Duration // per Evaluate
	maxRego  int           // Options.MaxPolicySetRego
	comp     *compiler
	builtins *builtinSet
	metrics  *metrics
	store    storage.Store // data.guardrails.taxonomy, read only
	taxonomy *taxonomy.Taxonomy
	cache    *input.Cache

	cur atomic.Pointer[policySet]
	mu  sync.Mutex // serialises SetPolicies
}

// policySet is the policies in force. It is never modified once published.
type policySet struct {
	builtins *builtinSet
	custom   []*customPolicy // by name
	byName   map[string]*customPolicy
	byKind   map[string][]*customPolicy
	errors   map[string][]CompileError // last compile errors by custom policy name
	infos    []Info                    // every policy in force, by name
	// inForce and inForceNames are the names of infos, for policy-names.
	inForce      map[string]bool
	inForceNames []string
	// validation are the engine's own checks (validation.go), in infos too.
	validation []Info
	names      *ast.Term // input.policies
	unknown    []string  // custom policies with no version in force
	// gk are the Gatekeeper templates and constraints in force.
	gk *gkSet
	// children: some policy judges rendered children (a custom policy
	// targeting a child kind, or a constraint).
	children bool
}

// New compiles the built-in policies embedded in package policies and returns
// an engine with no custom policies. It fails if a built-in does not compile.
func New(opts Options) (*Engine, error) {
	mods, err := policies.Modules()
	if err != nil {
		return nil, fmt.Errorf("policy: loading built-in policies: %w", err)
	}
	return newEngine(opts, mods)
}

// newEngine is New with the built-in modules given (file name → source).
func newEngine(opts Options, builtinModules map[string]string) (*Engine, error) {
	installGuards()
	e := &Engine{timeout: opts.Timeout, budget: opts.RequestBudget, maxRego: opts.MaxPolicySetRego, cache: input.NewCache(input.DefaultCacheSize)}
	if e.maxRego <= 0 {
		e.maxRego = DefaultMaxPolicySetRego
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.budget <= 0 {
		e.budget = DefaultRequestBudget
	}
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		e.metrics = m
	}
	caps, denied := restrictedCapabilities()
	e.taxonomy = taxonomy.Default()
	e.store = taxonomyStore(e.taxonomy)
	e.comp = &compiler{caps: caps, denied: denied, prep: prepare(context.Background(), caps, rego.Store(e.store)), resultCacheSize: opts.ResultCacheSize}
	bs, err := e.comp.compileBuiltins(builtinModules)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e.builtins = bs
	e.cur.Store(newPolicySet(bs, nil, nil, nil, nil))
	return e, nil
}

// taxonomyStore holds data.guardrails.taxonomy as
// {"data_category": {key: name}, "data_use": {...}, "data_subject": {...}}.
func taxonomyStore(t *taxonomy.Taxonomy) storage.Store {
	tax := make(map[string]any, 3)
	for _, kind := range []taxonomy.Kind{taxonomy.DataCategory, taxonomy.DataUse, taxonomy.DataSubject} {
		entries := t.Entries(kind)
		m := make(map[string]any, len(entries))
		for _, en := range entries {
			m[en.Key] = en.Name
		}
		tax[string(kind)] = m
	}
	data := map[string]any{"guardrails": map[string]any{"taxonomy": tax}}
	return inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true), inmem.OptRoundTripOnWrite(false))
}

// newPolicySet builds the immutable set. unknown are the names of custom
// policies that exist but have no version in force.
func newPolicySet(bs *builtinSet, custom []*customPolicy, errs map[string][]CompileError, unknown []string, gk *gkSet) *policySet {
	s := &policySet{
		builtins:   bs,
		custom:     custom,
		byName:     make(map[string]*customPolicy, len(custom)),
		byKind:     make(map[string][]*customPolicy),
		errors:     errs,
		validation: validationInfos(),
		unknown:    unknown,
	}
	names := slices.Clone(unknown)
	for _, p := range s.validation {
		s.infos = append(s.infos, p)
		names = append(names, p.Name)
	}
	s.infos = append(s.infos, unmanagedInfo)
	names = append(names, unmanagedInfo.Name)
	for _, p := range bs.policies {
		s.infos = append(s.infos, p.info)
		names = append(names, p.info.Name)
	}
	for _, p := range custom {
		s.byName[p.info.Name] = p
		for _, k := range p.info.Targets {
			s.byKind[k] = append(s.byKind[k], p)
		}
		s.infos = append(s.infos, p.info)
		names = append(names, p.info.Name)
		s.children = s.children || slices.ContainsFunc(p.info.Targets, childKind)
	}
	s.gk = gk.without(names)
	for _, info := range s.gk.constraintInfos() {
		s.infos = append(s.infos, info)
		names = append(names, info.Name)
	}
	s.children = s.children || !s.gk.empty()
	slices.SortFunc(s.infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	s.inForce = make(map[string]bool, len(s.infos))
	for _, p := range s.infos {
		s.inForce[p.Name] = true
		s.inForceNames = append(s.inForceNames, p.Name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	terms := make([]*ast.Term, len(names))
	for i, n := range names {
		terms[i] = ast.StringTerm(n)
	}
	s.names = ast.ArrayTerm(terms...)
	return s
}

// Policies returns every policy in force (built-in and custom), by name.
func (e *Engine) Policies() []Info {
	infos := slices.Clone(e.cur.Load().infos)
	for i := range infos {
		infos[i].Targets = slices.Clone(infos[i].Targets)
	}
	return infos
}

// Errors returns the errors of the last attempt to compile the named custom
// policy by SetPolicies; nil when it compiled.
func (e *Engine) Errors(name string) []CompileError {
	return slices.Clone(e.cur.Load().errors[name])
}

// CheckPolicy compiles gp against the set in force without changing it, as
// the admission webhook does before a GuardrailPolicy is stored. It returns
// nil when gp would compile and be put in force by SetPolicies.
func (e *Engine) CheckPolicy(gp *v1alpha1.GuardrailPolicy) []CompileError {
	set := e.cur.Load()
	var prev *customRego
	if p := set.byName[gp.Name]; p != nil {
		prev = p.rego
	}
	total := regoSize(gp)
	for _, other := range set.custom {
		if other.info.Name != gp.Name {
			total += other.rego.size()
		}
	}
	if total > e.maxRego {
		return []CompileError{e.overBound(gp.Name, total)}
	}
	p, errs := e.comp.compileCustom(gp, prev, e.builtins)
	if len(errs) > 0 {
		return errs
	}
	for _, other := range set.custom {
		if other.info.Name != gp.Name && other.rego.pkg.Equal(p.rego.pkg) {
			return []CompileError{packageConflict(p, other.info.Name)}
		}
	}
	return nil
}

func packageConflict(p *customPolicy, owner string) CompileError {
	return CompileError{Policy: p.info.Name, Module: mainModule, Line: 1, Column: 1,
		Message: fmt.Sprintf("package %s is already declared by policy %q", strings.TrimPrefix(p.rego.pkg.String(), "data."), owner)}
}

// SetPolicies replaces the custom policies in force with gps and returns the
// compile errors by policy name (nil when every policy compiled). A policy
// that compiles is in force; one that does not keeps its last good version,
// if it has one, and its errors are also kept for Errors. Policies missing
// from gps are dropped. Readers see the old set or the new one, never a mix.
func (e *Engine) SetPolicies(gps []v1alpha1.GuardrailPolicy) map[string][]CompileError {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()

	order := make([]*v1alpha1.GuardrailPolicy, 0, len(gps))
	for i := range gps {
		order = append(order, &gps[i])
	}
	slices.SortStableFunc(order, func(a, b *v1alpha1.GuardrailPolicy) int { return strings.Compare(a.Name, b.Name) })

	errs := make(map[string][]CompileError)
	var candidates []*customPolicy
	var unknown []string
	seen := make(map[string]bool, len(order))
	over := e.bound(old, order)
	for _, gp := range order {
		if seen[gp.Name] {
			errs[gp.Name] = append(errs[gp.Name], CompileError{Policy: gp.Name, Module: "metadata.name", Message: "policy given twice"})
			continue
		}
		seen[gp.Name] = true
		last := old.byName[gp.Name]
		var prev *customRego
		if last != nil {
			prev = last.rego
		}
		if ce, refused := over[gp.Name]; refused {
			errs[gp.Name] = []CompileError{ce.CompileError}
			if last != nil && !ce.keepLast {
				last = nil
			}
			if last == nil {
				unknown = append(unknown, gp.Name)
				continue
			}
			candidates = append(candidates, last)
			continue
		}
		p, cerrs := e.comp.compileCustom(gp, prev, e.builtins)
		if len(cerrs) > 0 {
			errs[gp.Name] = cerrs
			p = last // the last good version stays in force
		}
		if p == nil {
			unknown = append(unknown, gp.Name)
			continue
		}
		candidates = append(candidates, p)
	}

	// Two policies may not declare the same package: the one already in
	// force with that package keeps it, otherwise the first by name.
	slices.SortStableFunc(candidates, func(a, b *customPolicy) int {
		return boolRank(!holdsPackage(old, a)) - boolRank(!holdsPackage(old, b))
	})
	owners := make(map[string]string)
	var custom []*customPolicy
	for _, p := range candidates {
		pkg := p.rego.pkg.String()
		if owner, taken := owners[pkg]; taken {
			errs[p.info.Name] = append(errs[p.info.Name], packageConflict(p, owner))
			if last := old.byName[p.info.Name]; last != nil && last != p && !last.rego.pkg.Equal(p.rego.pkg) {
				if _, lastTaken := owners[last.rego.pkg.String()]; !lastTaken {
					owners[last.rego.pkg.String()] = p.info.Name
					custom = append(custom, last)
					continue
				}
			}
			unknown = append(unknown, p.info.Name)
			continue
		}
		owners[pkg] = p.info.Name
		custom = append(custom, p)
	}
	slices.SortFunc(custom, func(a, b *customPolicy) int { return strings.Compare(a.info.Name, b.info.Name) })
	if len(errs) == 0 {
		errs = nil
	}
	e.cur.Store(newPolicySet(e.builtins, custom, errs, unknown, old.gk))
	return errs
}

// regoSize is the Rego of a GuardrailPolicy, in bytes: what
// MaxPolicySetRego counts.
func regoSize(gp *v1alpha1.GuardrailPolicy) int {
	n := len(gp.Spec.Rego)
	for _, l := range gp.Spec.Libs {
		n += len(l)
	}
	return n
}

func (r *customRego) size() int {
	n := 0
	for _, s := range r.source {
		n += len(s)
	}
	return n
}

// boundError is a policy refused because the set would pass
// MaxPolicySetRego; keepLast says its last good version still fits.
type boundError struct {
	CompileError
	keepLast bool
}

func (e *Engine) overBound(name string, total int) CompileError {
	return CompileError{Policy: name, Module: "spec.rego",
		Message: fmt.Sprintf("with this policy the GuardrailPolicies would hold %d bytes of Rego (spec.rego and spec.libs together), over the limit of %d bytes (see docs/limits.md, \"Policy set\")", total, e.maxRego)}
}

// bound decides which of gps fit MaxPolicySetRego. The policies in force
// whose Rego is unchanged are counted first (a set in force is never
// pushed out by a newcomer), then the others by name; each one that would
// pass the bound is refused, and keeps its last good version when that
// still fits.
func (e *Engine) bound(old *policySet, gps []*v1alpha1.GuardrailPolicy) map[string]boundError {
	total := 0
	unchanged := make(map[*v1alpha1.GuardrailPolicy]bool)
	seen := make(map[string]bool)
	for _, gp := range gps {
		last := old.byName[gp.Name]
		if seen[gp.Name] || last == nil || !slices.Equal(last.rego.source, append([]string{gp.Spec.Rego}, gp.Spec.Libs...)) {
			continue
		}
		seen[gp.Name] = true
		unchanged[gp] = true
		total += regoSize(gp)
	}
	over := make(map[string]boundError)
	for _, gp := range gps {
		if unchanged[gp] || seen[gp.Name] {
			continue
		}
		seen[gp.Name] = true
		n := regoSize(gp)
		if total+n <= e.maxRego {
			total += n
			continue
		}
		be := boundError{CompileError: e.overBound(gp.Name, total+n)}
		if last := old.byName[gp.Name]; last != nil && total+last.rego.size() <= e.maxRego {
			total += last.rego.size()
			be.keepLast = true
		}
		over[gp.Name] = be
	}
	return over
}

// holdsPackage reports whether p's package belongs to p's policy in old.
func holdsPackage(old *policySet, p *customPolicy) bool {
	last := old.byName[p.info.Name]
	return last != nil && last.rego.pkg.Equal(p.rego.pkg)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
