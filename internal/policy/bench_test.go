package policy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
	"github.com/martech-guardrails/guardrails/policies"
)

// benchWorkload is a MarketingWorkload with three integrations, evaluated
// against every built-in and one custom policy. The engine remembers no
// results (ResultCacheSize -1): the benchmarks that repeat one request time
// its evaluation, not a cache lookup; BenchmarkEvaluateWorkloadWarm times
// the result caches.
func benchWorkload(b testing.TB) (*Engine, Request) {
	b.Helper()
	return benchWorkloadWith(b, Options{ResultCacheSize: -1})
}

func benchWorkloadWith(b testing.TB, opts Options) (*Engine, Request) {
	b.Helper()
	e := newTestEngine(b, opts)
	setPolicies(b, e, guardrailPolicy("campaign-naming", namingPolicy))
	req := request(workload(withIntegrations("newsletter", "crm", "ads")),
		withIntegrationObjects(
			integration("newsletter"),
			integration("crm", sending("user.behavior.purchase_history")),
			integration("ads", withVendor("acme-ads")),
		))
	return e, req
}

// wantOnly fails b unless d's results come from exactly the named policies,
// in order: a benchmark must time the decision it claims to.
func wantOnly(b testing.TB, d *Decision, names ...string) {
	b.Helper()
	got := make([]string, len(d.Results))
	for i, r := range d.Results {
		got[i] = r.Policy
	}
	if !slices.Equal(got, names) {
		b.Fatalf("results from %v, want %v:%s", got, names, describe(d))
	}
}

// TestBenchWorkloadDecision holds the benchmarks' workload to the decision
// they time, in every `go test` run, not only under -bench.
func TestBenchWorkloadDecision(t *testing.T) {
	e, req := benchWorkload(t)
	d := evaluate(t, e, req)
	if len(d.Results) != 1 || d.Results[0].Policy != "campaign-naming" || d.Results[0].Enforcement != "deny" {
		t.Fatalf("want one deny from campaign-naming:%s", describe(d))
	}
}

// timeEvaluate checks that req's decision has results from exactly the
// policies named, then times Evaluate on it.
func timeEvaluate(b *testing.B, e *Engine, req Request, names ...string) {
	b.Helper()
	ctx := context.Background()
	wantOnly(b, evaluate(b, e, req), names...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateWorkload(b *testing.B) {
	e, req := benchWorkload(b)
	timeEvaluate(b, e, req, "campaign-naming")
}

// BenchmarkEvaluateWorkloadWarm is BenchmarkEvaluateWorkloadStored with the
// engine's result caches on, as the operator runs it, and another workload
// (its own name) every time: admitting or reconciling one more workload
// whose integrations, vendors and standard are unchanged since the last
// one, within the same second (input.now), so that the integrations'
// verdicts come from the cache while the workload's own policies run.
func BenchmarkEvaluateWorkloadWarm(b *testing.B) {
	e, req := benchWorkloadWith(b, Options{})
	stored(&req)
	ctx := context.Background()
	wantOnly(b, evaluate(b, e, req), "campaign-naming")
	mw, ok := req.Object.(*v1alpha1.MarketingWorkload)
	if !ok {
		b.Fatalf("request object is a %T", req.Object)
	}
	reqs := make([]Request, 4096)
	for i := range reqs {
		reqs[i] = req
		w := mw.DeepCopy()
		w.Name = fmt.Sprintf("%s-%d", mw.Name, i)
		reqs[i].Object = w
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Evaluate(ctx, reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateWorkloadStored is BenchmarkEvaluateWorkload with the
// catalogue read from the API server (UIDs and resourceVersions set), as the
// reconcilers, the audit and the webhook see it.
func BenchmarkEvaluateWorkloadStored(b *testing.B) {
	e, req := benchWorkload(b)
	stored(&req)
	timeEvaluate(b, e, req, "campaign-naming")
}

func BenchmarkEvaluateWorkloadParallel(b *testing.B) {
	e, req := benchWorkload(b)
	stored(&req)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Evaluate(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEvaluateIntegration(b *testing.B) {
	e := newTestEngine(b, Options{ResultCacheSize: -1})
	req := request(integration("newsletter"))
	timeEvaluate(b, e, req)
}

func BenchmarkSetPolicies(b *testing.B) {
	e := newTestEngine(b, Options{})
	gps := []v1alpha1.GuardrailPolicy{guardrailPolicy("campaign-naming", namingPolicy)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Alternate the source so every call compiles.
		gps[0].Spec.Rego = namingPolicy + "\n# " + string(rune('a'+i%2)) + "\n"
		if errs := e.SetPolicies(gps); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkEngineOverhead is BenchmarkEvaluateWorkload with every built-in
// reduced to its METADATA and an empty violation set: what the engine costs
// (input conversion, queries, decisions) apart from the policies' own Rego.
func BenchmarkEngineOverhead(b *testing.B) {
	mods, err := policies.Modules()
	if err != nil {
		b.Fatal(err)
	}
	trivial := make(map[string]string, len(mods))
	for file, src := range mods {
		lines := strings.Split(src, "\n")
		for i, line := range lines {
			if strings.HasPrefix(line, "package ") {
				trivial[file] = strings.Join(lines[:i+1], "\n") + "\n\nviolation contains \"never\" if false\n"
				break
			}
		}
	}
	e, err := newEngine(Options{ResultCacheSize: -1}, trivial)
	if err != nil {
		b.Fatal(err)
	}
	_, req := benchWorkload(b)
	setPolicies(b, e, guardrailPolicy("campaign-naming", "package acme.naming\n\nviolation contains \"never\" if false\n"))
	timeEvaluate(b, e, req)
}

// TestBuiltinBenchInputs holds BenchmarkBuiltin's inputs to what it times,
// in every `go test` run: each built-in evaluates (within the budget) and
// finds nothing on the compliant input of its kind.
func TestBuiltinBenchInputs(t *testing.T) {
	ev, inputs, si := benchInputs(t)
	judged := 0
	for _, p := range ev.set.builtins.policies {
		in, ok := inputs[p.info.Targets[0]]
		if !ok {
			continue
		}
		judged++
		v, err := ev.run(p.alone, nil, in, []string{"v"})
		if err != nil {
			t.Fatalf("%s: %v", p.info.Name, err)
		}
		if out := ev.results(nil, &p.info, si, testNS, v[0]); len(out) != 0 {
			t.Errorf("%s found %+v on a compliant input", p.info.Name, out)
		}
	}
	if judged < 10 {
		t.Fatalf("%d built-ins judged, want the workload's and the integration's (at least 10)", judged)
	}
}

// BenchmarkBuiltin evaluates each built-in alone against the input of the
// object kind it targets (a SaaSIntegration, and a MarketingWorkload with
// its three integrations' verdicts in input.integrations), as in
// BenchmarkEvaluateWorkload: where the Rego time goes, policy by policy.
func BenchmarkBuiltin(b *testing.B) {
	ev, inputs, si := benchInputs(b)
	for _, p := range ev.set.builtins.policies {
		in, ok := inputs[p.info.Targets[0]]
		if !ok {
			continue
		}
		b.Run(p.info.Name, func(b *testing.B) {
			// The inputs are compliant: every built-in finds nothing.
			v, err := ev.run(p.alone, nil, in, []string{"v"})
			if err != nil {
				b.Fatal(err)
			}
			if out := ev.results(nil, &p.info, si, testNS, v[0]); len(out) != 0 {
				b.Fatalf("%s found %+v on a compliant input", p.info.Name, out)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ev.run(p.alone, nil, in, []string{"v"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOneRule is the floor under BenchmarkBuiltin: a policy of one
// rule with two comparisons, prepared once and evaluated by OPA's rego
// package against BenchmarkBuiltin's MarketingWorkload input, without the
// engine. What any policy costs before its own logic.
func BenchmarkOneRule(b *testing.B) {
	ev, inputs, _ := benchInputs(b)
	in := inputs[v1alpha1.KindMarketingWorkload]
	ctx := context.Background()
	pq, err := rego.New(
		rego.Query("data.floor.violation"),
		rego.Module("floor.rego", "package floor\n\nviolation contains \"too many replicas\" if {\n\tinput.kind == \"MarketingWorkload\"\n\tinput.object.spec.replicas > 100\n}\n"),
	).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	eval := func() rego.ResultSet {
		rs, err := pq.Eval(ctx, rego.EvalParsedInput(in), rego.EvalGenerateJSON(keepAST), rego.EvalMetrics(noMetrics), rego.EvalTransaction(ev.txn))
		if err != nil {
			b.Fatal(err)
		}
		return rs
	}
	rs := eval()
	var violations ast.Set
	if len(rs) == 1 {
		if t, ok := rs[0].Expressions[0].Value.(*ast.Term); ok {
			violations, _ = t.Value.(ast.Set)
		}
	}
	if violations == nil || violations.Len() != 0 {
		b.Fatalf("want an empty violation set, got %v", rs)
	}
	b.ReportAllocs()
	for b.Loop() {
		eval()
	}
}

// benchInputs returns an evaluation of BenchmarkEvaluateWorkloadStored's
// request and the inputs its objects are judged on, by kind: a
// SaaSIntegration (also returned), and the MarketingWorkload with its
// integrations' verdicts.
func benchInputs(b testing.TB) (*evaluation, map[string]ast.Value, *input.Object) {
	b.Helper()
	e, req := benchWorkload(b)
	stored(&req)
	ctx := context.Background()
	set := e.cur.Load()
	sh, err := newShared(&req, set, testNow, e.cache)
	if err != nil {
		b.Fatal(err)
	}
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.store.Abort(ctx, txn) })
	ev := &evaluation{engine: e, set: set, ctx: ctx, deadline: time.Now().Add(time.Hour), now: testNow, shared: sh, txn: txn}
	si, err := e.cache.Object(req.Integrations["newsletter"])
	if err != nil {
		b.Fatal(err)
	}
	wl, err := input.ToObject(req.Object)
	if err != nil {
		b.Fatal(err)
	}
	integrations, err := ev.integrations(&req, wl, OperationAudit, testNS)
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string]ast.Value{
		v1alpha1.KindSaaSIntegration:   input.NewDocument(sh, string(OperationAudit), si, nil, si, testNS, input.EmptyObject()).Value(input.EmptyObject()),
		v1alpha1.KindMarketingWorkload: input.NewDocument(sh, string(OperationAudit), wl, nil, wl, testNS, integrations).Value(input.EmptyObject()),
	}
	return ev, inputs, si
}

// bigCatalogue is the bench request's catalogue grown to n vendors: the
// three it names plus approved fillers of the same shape.
func bigCatalogue(req *Request, n int) {
	m := maps.Clone(req.Vendors)
	for i := 0; len(m) < n; i++ {
		v := vendor(fmt.Sprintf("filler-%04d", i))
		m[v.Name] = v
	}
	req.Vendors = m
}

// BenchmarkEvaluateWorkloadCatalogue is BenchmarkEvaluateWorkload with 50
// and with 2,000 vendors in the catalogue: "shared", as every door hands
// it (a Catalogue converted once for many requests), and, for comparison,
// a bare Vendors map converted on every call, as files give it (no UIDs)
// and as the API server does (stored: through the conversion cache). The
// cost of one object must not grow with the catalogue.
func BenchmarkEvaluateWorkloadCatalogue(b *testing.B) {
	for _, mode := range []string{"shared", "files", "stored"} {
		for _, n := range []int{50, 2000} {
			b.Run(fmt.Sprintf("%s/vendors=%d", mode, n), func(b *testing.B) {
				e, req := benchWorkload(b)
				bigCatalogue(&req, n)
				switch mode {
				case "stored":
					stored(&req)
				case "shared":
					cat, err := NewCatalogue(req.Vendors)
					if err != nil {
						b.Fatal(err)
					}
					req.Catalogue = cat
				}
				timeEvaluate(b, e, req, "campaign-naming")
			})
		}
	}
}
