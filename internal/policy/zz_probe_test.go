package policy

import (
	"context"
	"testing"
	"time"
)

func TestProbeBuiltinCost(t *testing.T) {
	e := builtinEngine(t)
	for _, req := range []Request{request(integration("newsletter")), request(workload())} {
		set := e.cur.Load()
		obj, _ := toObject(req.Object)
		sh, _ := newShared(&req, set, testNow)
		in := newInput(sh, OperationAudit, obj, nil, obj, testNS, emptyObject())
		txn, _ := e.store.NewTransaction(context.Background()); ev := &evaluation{engine: e, set: set, ctx: context.Background(), shared: sh, txn: txn}
		base := in.value(emptyObject())
		for _, p := range set.builtins.byKind[obj.kind].policies {
			const n = 300
			start := time.Now()
			for range n {
				if _, err := ev.run(p.alone, base, []string{"v"}); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%-25s %v", p.info.Name, time.Since(start)/n)
		}
		kq := set.builtins.byKind[obj.kind]
		start := time.Now()
		for range 300 {
			ev.run(kq.query, base, kq.vars)
		}
		t.Logf("%-25s %v", "combined", time.Since(start)/300)
		start = time.Now()
		for range 300 {
			o, _ := toObject(req.Object)
			sh, _ := newShared(&req, set, testNow)
			newInput(sh, OperationAudit, o, nil, o, testNS, emptyObject()).value(emptyObject())
		}
		t.Logf("%-25s %v", "input", time.Since(start)/300)
	}
}
