package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// bulkyPolicy is a schema-valid GuardrailPolicy of about size bytes of Rego:
// one violation rule after another.
func bulkyPolicy(name string, size int) v1alpha1.GuardrailPolicy { //nolint:unparam // any size; the bound tests use 64 KiB today
	var b strings.Builder
	pkg := strings.ReplaceAll(name, "-", "_")
	fmt.Fprintf(&b, "package acme.%s\n\n", pkg)
	for i := 0; b.Len() < size-120; i++ {
		fmt.Fprintf(&b, "violation contains \"rule %d\" if {\n\tinput.object.spec.replicas == %d\n\tinput.object.metadata.name != \"x%d\"\n}\n", i, i+1000, i)
	}
	return guardrailPolicy(name, b.String())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestPolicySetBound: 200 GuardrailPolicies of 64 KiB each (12.5 MiB of
// Rego) took 1.6 GB. The set's Rego is bounded (MaxPolicySetRego): the
// policies that fit are in force, each one past the bound gets an error
// naming the bound (and keeps its last good version, if it had one), and
// the engine's heap stays far under the manager's 512 MiB.
func TestPolicySetBound(t *testing.T) {
	e := newTestEngine(t, Options{})
	var gps []v1alpha1.GuardrailPolicy
	for i := range 200 {
		gps = append(gps, bulkyPolicy(fmt.Sprintf("bulky-%03d", i), 64<<10))
	}
	before := heapInUse()
	errs := e.SetPolicies(gps)
	grew := int64(heapInUse()) - int64(before) //nolint:gosec // heap sizes are far below 2^63
	var inForce int
	for _, p := range e.Policies() {
		if strings.HasPrefix(p.Name, "bulky-") {
			inForce++
		}
	}
	t.Logf("200 policies of 64 KiB: %d in force, %d refused, heap grew by %d MiB", inForce, len(errs), grew>>20)
	if grew > 256<<20 {
		t.Errorf("heap grew by %d MiB, want under 256 MiB", grew>>20)
	}
	if inForce == 0 || inForce == 200 || inForce+len(errs) != 200 {
		t.Fatalf("%d in force, %d refused: want some of each", inForce, len(errs))
	}
	last := gps[199].Name
	if es := errs[last]; len(es) != 1 || !strings.Contains(es[0].Message, "over the limit of") || es[0].Module != "spec.rego" {
		t.Fatalf("errors of %s: %+v", last, es)
	}
	t.Log(errs[last][0].Error())
	// The policies in force keep their place: a new policy that does not
	// fit is refused, whatever its name (here before every other).
	first := bulkyPolicy("aaa-new", 64<<10)
	errs = e.SetPolicies(append([]v1alpha1.GuardrailPolicy{first}, gps...))
	if len(errs["aaa-new"]) != 1 || hasPolicy(e, "aaa-new") {
		t.Fatalf("the new policy: %+v", errs["aaa-new"])
	}
	if !hasPolicy(e, "bulky-000") {
		t.Fatal("a policy in force was dropped for a new one")
	}
	// The webhook refuses it too.
	if ces := e.CheckPolicy(&first); len(ces) != 1 || !strings.Contains(ces[0].Message, "over the limit of") {
		t.Fatalf("CheckPolicy: %+v", ces)
	}
	// A policy in force that grows past the bound keeps its last good
	// version.
	grown := bulkyPolicy("bulky-000", 64<<10)
	grown.Spec.Libs = []string{bulkyPolicy("bulky-lib", 64<<10).Spec.Rego}
	grown.Spec.Libs[0] = strings.Replace(grown.Spec.Libs[0], "package acme.bulky_lib", "package acme.bulky_lib0", 1)
	gps[0] = grown
	errs = e.SetPolicies(gps)
	if len(errs["bulky-000"]) != 1 || !hasPolicy(e, "bulky-000") {
		t.Fatalf("bulky-000: %+v, in force %v", errs["bulky-000"], hasPolicy(e, "bulky-000"))
	}
}
