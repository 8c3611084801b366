package policy

import (
	"context"
	"os"
	"testing"

	"github.com/open-policy-agent/opa/v1/profiler"
	"github.com/open-policy-agent/opa/v1/rego"
)

func TestProbeRegoProfile(t *testing.T) {
	e := builtinEngine(t)
	for _, req := range []Request{request(integration("newsletter")), request(workload())} {
		set := e.cur.Load()
		obj, _ := toObject(req.Object)
		sh, _ := newShared(&req, set, testNow)
		in := newInput(sh, OperationAudit, obj, nil, obj, testNS, emptyObject())
		base := in.value(emptyObject())
		kq := set.builtins.byKind[obj.kind]
		p := profiler.New()
		for range 200 {
			kq.query.Eval(context.Background(), rego.EvalParsedInput(base), rego.EvalQueryTracer(p))
		}
		stats := p.ReportTopNResults(25, []string{"total_time_ns"})
		for _, s := range stats {
			t.Logf("%8dns/op num_eval=%d %s:%d", s.ExprTimeNs/200, s.NumEval/200, s.Location.File, s.Location.Row)
		}
		_ = os.Stdout
	}
}
