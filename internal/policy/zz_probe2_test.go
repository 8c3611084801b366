package policy

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestProbeFloor(t *testing.T) {
	e := builtinEngine(t)
	req := request(integration("newsletter"))
	set := e.cur.Load()
	obj, _ := toObject(req.Object)
	sh, _ := newShared(&req, set, testNow)
	in := newInput(sh, OperationAudit, obj, nil, obj, testNS, emptyObject())
	base := in.value(emptyObject())
	txn, _ := e.store.NewTransaction(context.Background()); ev := &evaluation{engine: e, set: set, ctx: context.Background(), shared: sh, txn: txn}
	for _, src := range []string{
		"package p\nviolation contains 1 if false\n",
		"package p\nviolation contains 1 if input.kind == \"x\"\n",
		"package p\nviolation contains 1 if object.get(input, [\"standard\", \"dataResidency\", \"allowedRegions\"], []) == 3\n",
		"package p\nx := [r | some r in object.get(input, [\"standard\", \"dataResidency\", \"allowedRegions\"], []); is_string(r)]\nviolation contains 1 if count(x) == 3\n",
	} {
		m := ast.MustParseModule(src)
		c := ast.NewCompiler()
		c.Compile(map[string]*ast.Module{"p": m})
		pq, err := e.comp.prep(ast.NewBody(violationQuery("v", m.Package.Path)), c)
		if err != nil {
			t.Fatal(err)
		}
		const n = 1000
		start := time.Now()
		for range n {
			ev.run(pq, base, []string{"v"})
		}
		t.Logf("run %v", time.Since(start)/n)
		start = time.Now()
		for range n {
			pq.Eval(context.Background(), rego.EvalParsedInput(base), rego.EvalGenerateJSON(keepAST))
		}
		t.Logf("eval no ctx %v", time.Since(start)/n)
	}
	start := time.Now()
	for range 1000 {
		runtime.DefaultUnstructuredConverter.ToUnstructured(req.Vendors["hubspot"])
	}
	t.Logf("ToUnstructured vendor %v", time.Since(start)/1000)
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(req.Vendors["hubspot"])
	start = time.Now()
	for range 1000 {
		ast.InterfaceToValue(m)
	}
	t.Logf("InterfaceToValue vendor %v", time.Since(start)/1000)
	start = time.Now()
	for range 1000 {
		runtime.DefaultUnstructuredConverter.ToUnstructured(&req.Standard.Spec)
	}
	t.Logf("ToUnstructured standard %v", time.Since(start)/1000)
}
