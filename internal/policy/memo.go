package policy

import (
	"slices"
	"sync"
)

// Memo shares the decisions on SaaSIntegrations between the Evaluate calls
// of one batch, so that an integration referenced by many workloads (and
// checked as an object of its own) is evaluated once. The CLI uses one Memo
// per `guardrails check` run: every object of the run is judged against the
// same inputs at the same time.
//
// A decision is reused only by a request with the same policy set in force,
// operation, Now, namespace and PlatformStandard name, for the integration of
// the same namespace and name; the caller promises that, within one Memo,
// those also mean the same integration object, Vendors, Secrets, namespace
// labels and Exceptions, which holds for a fixed set of input files. The
// reconcilers and the admission webhooks, whose requests each see the world
// at a different moment, do not use one.
//
// A Memo is safe for concurrent use: concurrent requests for one key wait
// for a single evaluation.
type Memo struct {
	mu    sync.Mutex
	m     map[memoKey]*memoEntry
	limit int // 0: unbounded
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return &Memo{m: make(map[memoKey]*memoEntry)} }

// NewBoundedMemo returns an empty Memo that holds at most limit decisions:
// when full it starts over, so a long batch keeps memory bounded at the cost
// of evaluating some integrations again. A limit of 0 or less is unbounded.
func NewBoundedMemo(limit int) *Memo {
	return &Memo{m: make(map[memoKey]*memoEntry), limit: max(limit, 0)}
}

type memoKey struct {
	set             *policySet
	op              Operation
	now             int64 // UnixNano
	standard        string
	namespace, name string
}

type memoEntry struct {
	once     sync.Once
	d        *Decision
	outcomes []outcome
	err      error
}

// decision returns the memoised decision for k, evaluating it with eval the
// first time. A nil Memo always evaluates.
func (m *Memo) decision(k memoKey, eval func() (*Decision, []outcome, error)) (*Decision, []outcome, error) {
	if m == nil {
		return eval()
	}
	m.mu.Lock()
	en := m.m[k]
	if en == nil {
		if m.limit > 0 && len(m.m) >= m.limit {
			// Callers already holding an entry keep it.
			m.m = make(map[memoKey]*memoEntry)
		}
		en = &memoEntry{}
		m.m[k] = en
	}
	m.mu.Unlock()
	en.once.Do(func() { en.d, en.outcomes, en.err = eval() })
	return en.d, en.outcomes, en.err
}

// Len returns the number of decisions held.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// clone returns a copy of d whose Results the caller may change.
func (d *Decision) clone() *Decision {
	c := *d
	c.Results = slices.Clone(d.Results)
	c.Policies = slices.Clone(d.Policies)
	c.Disabled = slices.Clone(d.Disabled)
	return &c
}
