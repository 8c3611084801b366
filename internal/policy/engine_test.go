package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// resultsOf returns the results of one policy.
func resultsOf(d *Decision, policy string) []Result {
	var out []Result
	for _, r := range d.Results {
		if r.Policy == policy {
			out = append(out, r)
		}
	}
	return out
}

func setPolicies(t testing.TB, e *Engine, gps ...v1alpha1.GuardrailPolicy) {
	t.Helper()
	if errs := e.SetPolicies(gps); errs != nil {
		t.Fatalf("SetPolicies: %v", errs)
	}
}

func TestCustomPolicies(t *testing.T) {
	e := newTestEngine(t, Options{})
	maxReplicas := guardrailPolicy("replica-budget", `package acme.replicas

# METADATA
# title: ignored, rule scoped
violation contains {"msg": sprintf("%d replicas, budget %d", [n, input.parameters.max]), "field": "spec.replicas", "enforcement": "warn"} if {
	n := input.object.spec.replicas
	n > input.parameters.max
}
`, withParameters(`{"max": 1}`))
	maxReplicas.Spec.Category = "cost"
	strictNS := guardrailPolicy("strict-namespaces", "package acme.strict\n\nviolation contains \"strict namespace\"\n")
	strictNS.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"strict": "true"}}
	vendorNote := guardrailPolicy("vendor-note", "# METADATA\n# title: Vendors have a display name\n# description: Every vendor shows a human name.\npackage acme.vendor_note\n\nviolation contains \"no display name\" if input.object.spec.displayName == \"\"\n",
		targeting(v1alpha1.KindVendor), withEnforcement(v1alpha1.EnforcementAudit))
	setPolicies(t, e, maxReplicas, strictNS, vendorNote)

	d := evaluate(t, e, request(workload()))
	got := resultsOf(d, "replica-budget")
	if len(got) != 1 {
		t.Fatalf("replica-budget results = %+v%s", got, describe(d))
	}
	r := got[0]
	if r.Enforcement != "warn" || r.Field != "spec.replicas" || r.Message != "2 replicas, budget 1" || r.Severity != "medium" || r.Category != "cost" || r.Title != "replica-budget" {
		t.Errorf("result = %+v", r)
	}
	if len(resultsOf(d, "strict-namespaces")) != 0 {
		t.Error("strict-namespaces evaluated outside its namespaces")
	}
	if d.Denied() {
		t.Errorf("denied by a warning%s", describe(d))
	}

	strict := request(workload(), func(r *Request) { r.Namespace.Labels = map[string]string{"strict": "true"} })
	if got := resultsOf(evaluate(t, e, strict), "strict-namespaces"); len(got) != 1 || got[0].Enforcement != "deny" {
		t.Errorf("strict-namespaces in a strict namespace: %+v", got)
	}

	// A standard can override and disable custom policies by name too.
	overridden := request(workload(), withStandard(standard(enforcing("replica-budget", v1alpha1.EnforcementDeny))))
	if got := resultsOf(evaluate(t, e, overridden), "replica-budget"); len(got) != 1 || got[0].Enforcement != "deny" {
		t.Errorf("overridden: %+v", got)
	}
	disabled := request(workload(), withStandard(standard(disabling("replica-budget"))))
	if got := resultsOf(evaluate(t, e, disabled), "replica-budget"); len(got) != 0 {
		t.Errorf("disabled: %+v", got)
	}

	// Cluster-scoped kinds: the selector does not apply; METADATA gives the title.
	vd := evaluate(t, e, request(vendor("blank", func(v *v1alpha1.Vendor) { v.Spec.DisplayName = "" })))
	if got := resultsOf(vd, "vendor-note"); len(got) != 1 || got[0].Enforcement != "audit" || got[0].Title != "Vendors have a display name" {
		t.Errorf("vendor-note: %+v", got)
	}
	if len(vd.Audits()) != 1 || vd.Denied() {
		t.Errorf("audits %v", vd.Audits())
	}
	for _, p := range e.Policies() {
		if p.Name == "vendor-note" && (p.Builtin || p.Description != "Every vendor shows a human name." || !slices.Equal(p.Targets, []string{"Vendor"})) {
			t.Errorf("Info %+v", p)
		}
	}
}

// A custom policy on SaaSIntegrations counts in the verdict a workload's
// policies see.
func TestCustomPolicyJudgesIntegrations(t *testing.T) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("purpose-required", "package acme.purpose\n\nviolation contains {\"msg\": \"no purpose\", \"field\": \"spec.purpose\"} if object.get(input.object.spec, \"purpose\", \"\") == \"\"\n",
		targeting(v1alpha1.KindSaaSIntegration)))
	si := integration("newsletter", func(si *v1alpha1.SaaSIntegration) { si.Spec.Purpose = "" })
	d := evaluate(t, e, request(workload(withIntegrations("newsletter")), withIntegrationObjects(si)))
	got := findings(d)
	want := []finding{{"integration-references", "deny", "spec.integrations[0].name"}}
	if !slices.Equal(got, want) {
		t.Fatalf("findings = %v, want %v%s", got, want, describe(d))
	}
	if !strings.Contains(d.Results[0].Message, "purpose-required") {
		t.Errorf("message %q does not name purpose-required", d.Results[0].Message)
	}
}

const slowPolicy = `package acme.slow

violation contains "slow" if {
	# Slow, not big: numbers.range over 2^20 elements is refused outright.
	count([x | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); x := i * j; x % 7 == 3]) > 0
}
`

func TestTimeBudget(t *testing.T) {
	e := newTestEngine(t, Options{Timeout: 250 * time.Millisecond})
	setPolicies(t, e, guardrailPolicy("slow", slowPolicy), guardrailPolicy("campaign-naming", namingPolicy))
	start := time.Now()
	d := evaluate(t, e, request(workload(withImage("nginx:1.27"))))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("evaluation took %s", took)
	}
	slow := resultsOf(d, "slow")
	if len(slow) != 1 || slow[0].Enforcement != EnforcementError || !strings.Contains(slow[0].Message, "time budget of 250ms") {
		t.Fatalf("slow results = %+v", slow)
	}
	if errs := d.Errors(); len(errs) != 1 || errs[0].Policy != "slow" {
		t.Errorf("Errors() = %+v", errs)
	}
	// The built-ins and the other custom policy were still evaluated.
	if len(resultsOf(d, "allowed-registries")) != 1 || len(resultsOf(d, "campaign-naming")) != 1 {
		t.Errorf("other policies missing:%s", describe(d))
	}
	if !d.Denied() {
		t.Error("not denied")
	}
}

func TestRuntimeErrorIsAttributed(t *testing.T) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("conflict", "package acme.conflict\n\nlimit := input.object.spec.replicas\n\nlimit := 99 if input.kind == \"MarketingWorkload\"\n\nviolation contains \"x\" if limit > 1\n"))
	d := evaluate(t, e, request(workload(withHost("evil.example.com"))))
	got := resultsOf(d, "conflict")
	if len(got) != 1 || got[0].Enforcement != EnforcementError || !strings.Contains(got[0].Message, "conflicting values") {
		t.Errorf("conflict results = %+v", got)
	}
	if len(resultsOf(d, "exposure-host")) != 1 {
		t.Errorf("built-ins not evaluated:%s", describe(d))
	}
}

func TestCancelledContext(t *testing.T) {
	e := newTestEngine(t, Options{Timeout: 10 * time.Second})
	setPolicies(t, e, guardrailPolicy("slow", slowPolicy))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := e.Evaluate(ctx, request(workload()))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Evaluate = %v, want the context's error", err)
	}
}

func TestEvaluateRejectsBadRequests(t *testing.T) {
	e := builtinEngine(t)
	if _, err := e.Evaluate(context.Background(), Request{}); !errors.Is(err, ErrNoObject) {
		t.Errorf("no object: %v", err)
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "x"}}
	if _, err := e.Evaluate(context.Background(), Request{Object: pod}); err == nil || !strings.Contains(err.Error(), `unsupported kind "Pod"`) {
		t.Errorf("pod: %v", err)
	}
	if _, err := e.Evaluate(context.Background(), Request{Object: 42}); err == nil {
		t.Error("int accepted")
	}
}

// Many goroutines evaluate while SetPolicies swaps between versions: each
// decision comes from one whole set (run with -race).
func TestConcurrentEvaluateAndSwap(t *testing.T) {
	e := newTestEngine(t, Options{})
	version := func(n int) v1alpha1.GuardrailPolicy {
		return guardrailPolicy("versioned", fmt.Sprintf("package acme.versioned\n\nviolation contains \"v%d\"\n\nviolation contains \"v%d again\"\n", n, n))
	}
	setPolicies(t, e, version(0))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := request(workload(withIntegrations("newsletter")), withIntegrationObjects(integration("newsletter")))
			if g%2 == 1 {
				req = request(integration("newsletter", inRegion("us")))
			}
			if g%4 < 2 {
				stored(&req) // exercise the conversion cache too
			}
			for ctx.Err() == nil {
				d, err := e.Evaluate(context.Background(), req)
				if err != nil {
					errs <- err
					return
				}
				got := resultsOf(d, "versioned")
				if g%2 == 1 {
					if len(got) != 0 || len(resultsOf(d, "data-residency")) != 1 {
						errs <- fmt.Errorf("integration decision: %s", describe(d))
						return
					}
					continue
				}
				if len(got) != 2 || strings.TrimSuffix(got[1].Message, " again") != got[0].Message {
					errs <- fmt.Errorf("mixed or missing versions: %+v", got)
					return
				}
			}
		}()
	}
	for n := 1; n <= 30; n++ {
		if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{version(n)}); errs != nil {
			t.Errorf("SetPolicies: %v", errs)
		}
		_ = e.Policies()
		_ = e.Errors("versioned")
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newTestEngine(t, Options{Registerer: reg})
	// A second engine on the same registry shares the collectors.
	if _, err := New(Options{Registerer: reg}); err != nil {
		t.Fatalf("second engine: %v", err)
	}
	tomorrow := testNow.Add(day)
	create := func(r *Request) { r.Operation = OperationCreate }
	evaluate(t, e, request(workload(withImage("nginx:1.27"), withoutOwner()), create))
	evaluate(t, e, request(workload(withImage("nginx:1.27")), create,
		withExceptions(exception("ok", tomorrow, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale")))))

	counts := map[[2]string]float64{
		{"allowed-registries", "violation"}: 1,
		{"allowed-registries", "waived"}:    1,
		{"ownership", "violation"}:          1,
		{"ownership", "pass"}:               1,
		{"exposure-host", "pass"}:           2,
	}
	for labels, want := range counts {
		if got := testutil.ToFloat64(e.metrics.evaluations.WithLabelValues(labels[0], labels[1])); got != want {
			t.Errorf("evaluations_total%v = %v, want %v", labels, got, want)
		}
	}
	if got := testutil.ToFloat64(e.metrics.denials.WithLabelValues("ownership", "deny")); got != 2 {
		t.Errorf("admission_denials_total{ownership,deny} = %v, want 2 (team and contact)", got)
	}
	if got := testutil.ToFloat64(e.metrics.denials.WithLabelValues("allowed-registries", "deny")); got != 1 {
		t.Errorf("admission_denials_total{allowed-registries,deny} = %v, want 1 (the waived one is not counted)", got)
	}
	// The reconciler's and the audit's evaluations are not admission
	// denials: the counter does not move for them.
	evaluate(t, e, request(workload(withImage("nginx:1.27"))))
	if got := testutil.ToFloat64(e.metrics.denials.WithLabelValues("allowed-registries", "deny")); got != 1 {
		t.Errorf("admission_denials_total{allowed-registries,deny} = %v after an AUDIT evaluation, want still 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "guardrails_violations"); err != nil || n != 0 {
		t.Errorf("the engine registers guardrails_violations (%d series, %v): that name is the audit's gauge", n, err)
	}
	if n, err := testutil.GatherAndCount(reg, "guardrails_policy_evaluation_duration_seconds"); err != nil || n != 1 {
		t.Errorf("duration series = %d, %v", n, err)
	}
}

func TestConversionCache(t *testing.T) {
	e := newTestEngine(t, Options{})
	req := request(integration("newsletter", inRegion("us")))
	stored(&req)
	if got := findings(evaluate(t, e, req)); len(got) != 1 || got[0].policy != "data-residency" {
		t.Fatalf("findings %v", got)
	}
	// A new resourceVersion is a new content: the EU-only standard is
	// relaxed and the verdict follows.
	req.Standard.Spec.DataResidency.AllowedRegions = []v1alpha1.Region{"eu", "us"}
	req.Standard.ResourceVersion = "2000"
	if got := findings(evaluate(t, e, req)); len(got) != 0 {
		t.Errorf("after the standard changed: %v", got)
	}
	// Objects without a UID are never cached.
	req.Standard.UID = ""
	req.Standard.Spec.DataResidency.AllowedRegions = []v1alpha1.Region{"eu"}
	if got := findings(evaluate(t, e, req)); len(got) != 1 {
		t.Errorf("uncached standard: %v", got)
	}
	if n := e.cache.Len(); n == 0 || n > input.DefaultCacheSize {
		t.Errorf("cache holds %d entries", n)
	}
}

func TestCustomPolicyWithLib(t *testing.T) {
	e := newTestEngine(t, Options{})
	gp := guardrailPolicy("team-prefix", `package acme.team_prefix

import rego.v1
import data.acme.lib.naming

violation contains naming.message(input.object) if not naming.prefixed(input.object)
`)
	gp.Spec.Libs = []string{`package acme.lib.naming

prefixed(obj) if startswith(obj.metadata.name, obj.spec.owner.team)

message(obj) := sprintf("name %q does not start with team %q (taxonomy has %d data uses)", [obj.metadata.name, obj.spec.owner.team, count(data.guardrails.taxonomy.data_use)])
`}
	setPolicies(t, e, gp)
	got := resultsOf(evaluate(t, e, request(workload())), "team-prefix")
	if len(got) != 1 || !strings.HasPrefix(got[0].Message, `name "spring-sale" does not start with team "growth"`) {
		t.Fatalf("results %+v", got)
	}
	if got := resultsOf(evaluate(t, e, request(workload(named("growth-spring")))), "team-prefix"); len(got) != 0 {
		t.Errorf("prefixed name: %+v", got)
	}
}
