package policy

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestProbeExprCost(t *testing.T) {
	e := builtinEngine(t)
	req := request(integration("newsletter"))
	set := e.cur.Load()
	obj, _ := toObject(req.Object)
	sh, _ := newShared(&req, set, testNow)
	in := newInput(sh, OperationAudit, obj, nil, obj, testNS, emptyObject())
	full := in.value(emptyObject())
	small := ast.MustParseTerm(`{"kind": "SaaSIntegration", "object": {"spec": {"vendor": "hubspot", "region": "eu"}}, "standard": {}, "vendors": {"hubspot": {"spec": {"processingRegions": ["eu"]}}}}`).Value
	txn, _ := e.store.NewTransaction(context.Background())
	ev := &evaluation{engine: e, set: set, ctx: context.Background(), shared: sh, txn: txn}
	for _, src := range []string{
		"package p\nviolation contains 1 if false\n",
		"package p\nviolation contains 1 if { input.kind == \"x\" }\n",
		"package p\nviolation contains 1 if { x := input.object.spec.vendor; x == \"y\" }\n",
		"package p\nviolation contains 1 if { x := object.get(input.object, [\"spec\", \"vendor\"], \"\"); x == \"y\" }\n",
		"package p\nv := object.get(input.object, [\"spec\", \"vendor\"], \"\")\nviolation contains 1 if { v == \"y\" }\n",
		"package p\nv := input.vendors[object.get(input.object, [\"spec\", \"vendor\"], \"\")]\nviolation contains 1 if { v.x == \"y\" }\n",
		"package p\nviolation contains 1 if { some r in object.get(input, [\"standard\", \"allowedRegions\"], []); r == 1 }\n",
		"package p\nviolation contains 1 if { x := [r | some r in object.get(input.vendors.hubspot, [\"spec\", \"processingRegions\"], []); is_string(r)]; count(x) == 0 }\n",
		"package p\nviolation contains 1 if { some r in input.vendors.hubspot.spec.processingRegions; lower(r) == \"x\" }\n",
	} {
		m := ast.MustParseModule(src)
		c := ast.NewCompiler()
		c.Compile(map[string]*ast.Module{"p": m})
		if c.Failed() {
			t.Fatal(c.Errors)
		}
		pq, err := e.comp.prep(ast.NewBody(violationQuery("v", m.Package.Path)), c)
		if err != nil {
			t.Fatal(err)
		}
		const n = 3000
		start := time.Now()
		for range n {
			ev.run(pq, full, []string{"v"})
		}
		f := time.Since(start) / n
		start = time.Now()
		for range n {
			ev.run(pq, small, []string{"v"})
		}
		t.Logf("full %v small %v  %q", f, time.Since(start)/n, src[10:])
	}
}
