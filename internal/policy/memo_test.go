package policy

import (
	"reflect"
	"sync"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// memoRequests are a workload with three integrations (one sending a
// category its vendor does not allow, one with a restricted vendor) and
// each of the integrations as an object of its own, as `guardrails check`
// evaluates them.
func memoRequests() []Request {
	sis := []*v1alpha1.SaaSIntegration{
		integration("newsletter"),
		integration("crm", sending("user.financial")),
		integration("ads", withVendor("acme-ads")),
	}
	reqs := []Request{request(workload(withIntegrations("newsletter", "crm", "ads")), withIntegrationObjects(sis...))}
	for _, si := range sis {
		reqs = append(reqs, request(si))
	}
	return reqs
}

func TestMemoGivesTheSameDecisions(t *testing.T) {
	e := newTestEngine(t, Options{})
	memo := NewMemo()
	for _, req := range memoRequests() {
		want := evaluate(t, e, req)
		req.Memo = memo
		got := evaluate(t, e, req)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s with a memo:%s\nwithout:%s", req.Operation, want.Name, describe(got), describe(want))
		}
		// A second time through the memo: the same again.
		if again := evaluate(t, e, req); !reflect.DeepEqual(again, want) {
			t.Errorf("%s again with a memo:%s\nwant:%s", want.Name, describe(again), describe(want))
		}
	}
	if memo.Len() != 3 {
		t.Errorf("memo holds %d decisions, want one per integration (3)", memo.Len())
	}
	if d := evaluate(t, e, memoRequests()[0]); len(resultsOf(d, "integration-references")) == 0 {
		t.Fatalf("the workload should be judged on its non-compliant integration:%s", describe(d))
	}
}

func TestMemoReusesByKey(t *testing.T) {
	e := newTestEngine(t, Options{})
	memo := NewMemo()
	restricted := request(integration("ads", withVendor("acme-ads")))
	restricted.Memo = memo
	first := evaluate(t, e, restricted)
	if len(resultsOf(first, "vendor-approved")) == 0 {
		t.Fatalf("a restricted vendor should give a vendor-approved result:%s", describe(first))
	}

	// Within one memo an integration's name stands for one object: a
	// different object under the same key gets the memoised decision.
	approved := request(integration("ads"))
	approved.Memo = memo
	if got := evaluate(t, e, approved); !reflect.DeepEqual(got, first) {
		t.Errorf("same key, memoised decision expected:%s\nwant:%s", describe(got), describe(first))
	}
	// Changing the returned results does not reach the memo.
	first.Results[0].Message = "changed by the caller"
	if got := evaluate(t, e, restricted); got.Results[0].Message == "changed by the caller" {
		t.Error("a caller's change to a decision reached the memo")
	}

	// Another time, operation, standard or namespace is another key.
	later := approved
	later.Now = testNow.Add(day)
	check := approved
	check.Operation = OperationCheck
	strict := approved
	strict.Standard = standard()
	strict.Standard.Name = "strict"
	other := approved
	other.Object = func() *v1alpha1.SaaSIntegration { si := integration("ads"); si.Namespace = "other"; return si }()
	other.Namespace.Name = "other"
	for name, req := range map[string]Request{"later": later, "check": check, "strict": strict, "other namespace": other} {
		if d := evaluate(t, e, req); len(resultsOf(d, "vendor-approved")) != 0 {
			t.Errorf("%s: the approved vendor's integration was given the memoised decision:%s", name, describe(d))
		}
	}
	if memo.Len() != 5 {
		t.Errorf("memo holds %d decisions, want 5", memo.Len())
	}
	// Policies changed: a new set in force is another key too.
	setPolicies(t, e, guardrailPolicy("campaign-naming", namingPolicy))
	if d := evaluate(t, e, approved); len(resultsOf(d, "vendor-approved")) != 0 {
		t.Errorf("after SetPolicies the memoised decision was reused:%s", describe(d))
	}
}

func TestMemoConcurrent(t *testing.T) {
	e := newTestEngine(t, Options{})
	reqs := memoRequests()
	want := make([]*Decision, len(reqs))
	for i, req := range reqs {
		want[i] = evaluate(t, e, req)
	}
	memo := NewMemo()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				j := (g + i) % len(reqs)
				req := reqs[j]
				req.Memo = memo
				got, err := e.Evaluate(t.Context(), req)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got, want[j]) {
					t.Errorf("goroutine %d, request %d:%s\nwant:%s", g, j, describe(got), describe(want[j]))
				}
			}
		})
	}
	wg.Wait()
	if memo.Len() != 3 {
		t.Errorf("memo holds %d decisions, want 3", memo.Len())
	}
}

func TestBoundedMemoStartsOver(t *testing.T) {
	e := newTestEngine(t, Options{})
	memo := NewBoundedMemo(2)
	var want []*Decision
	reqs := memoRequests()[1:] // the three integrations
	for _, req := range reqs {
		want = append(want, evaluate(t, e, req))
	}
	for i, req := range reqs {
		req.Memo = memo
		if got := evaluate(t, e, req); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s through a bounded memo:%s\nwant:%s", want[i].Name, describe(got), describe(want[i]))
		}
		if memo.Len() > 2 {
			t.Fatalf("a memo bounded at 2 holds %d decisions", memo.Len())
		}
	}
	// The third integration made it start over: it holds only that one.
	if memo.Len() != 1 {
		t.Errorf("memo holds %d decisions after starting over, want 1", memo.Len())
	}
	// Decisions after starting over are still right.
	for i, req := range reqs {
		req.Memo = memo
		if got := evaluate(t, e, req); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s again:%s\nwant:%s", want[i].Name, describe(got), describe(want[i]))
		}
	}
}
