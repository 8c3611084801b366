package policy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// A required-labels template as Gatekeeper's library writes them (Rego v0),
// with a library in data.lib.
const requiredLabelsTemplate = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              items:
                type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredlabels

        import data.lib.labels.missing

        violation[{"msg": msg, "details": {"missing_labels": missing_labels}}] {
          missing_labels := missing(input.review.object, input.parameters.labels)
          count(missing_labels) > 0
          msg := sprintf("%v %v must have labels %v", [input.review.kind.kind, input.review.object.metadata.name, missing_labels])
        }
      libs:
        - |
          package lib.labels

          missing(obj, required) = m {
            provided := {l | obj.metadata.labels[l]}
            m := {l | l := required[_]; not provided[l]}
          }
`

func requiredLabels(name, action string, labels ...string) string {
	s := `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: ` + name + `
spec:
  match:
    kinds:
      - apiGroups: ["apps"]
        kinds: ["Deployment"]
  parameters:
    labels: [` + strings.Join(labels, ", ") + `]
`
	if action != "" {
		s += "  enforcementAction: " + action + "\n"
	}
	return s
}

func objectOf(t testing.TB, src string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(src), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func setGatekeeper(t testing.TB, e *Engine, templates, constraints []string) GatekeeperReport {
	t.Helper()
	var ts, cs []*unstructured.Unstructured
	for _, s := range templates {
		ts = append(ts, objectOf(t, s))
	}
	for _, s := range constraints {
		cs = append(cs, objectOf(t, s))
	}
	return e.SetGatekeeper(ts, cs)
}

// compliantRequest is a workload the built-ins pass, with its catalogue.
func compliantRequest(w *v1alpha1.MarketingWorkload) Request {
	return request(w, withStandard(standard()))
}

func TestGatekeeperJudgesRenderedDeployment(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	before, err := e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	if rep := setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("deployments-need-tier", "", `"acme.io/tier"`)}); rep.Errors != nil || rep.Skipped != nil {
		t.Fatalf("report %+v", rep)
	}
	d, err := e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, "deployments-need-tier (Deployment/spring-sale)")
	if len(rs) != 1 {
		t.Fatalf("results %+v: want one from the constraint on the rendered Deployment", d.Results)
	}
	r := rs[0]
	if r.Enforcement != "deny" || r.Message != `Deployment spring-sale must have labels {"acme.io/tier"}` || r.Category != gatekeeper.Category {
		t.Fatalf("result %+v", r)
	}
	if len(d.Denies()) != len(before.Denies())+1 {
		t.Fatalf("denies %d, before %d", len(d.Denies()), len(before.Denies()))
	}
	// A label the renderer sets: no result, and the constraint is among the
	// policies judged.
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("deployments-need-team", "warn", `"martech.guardrails.dev/team"`)})
	d, err = e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "deployments-need-team (Deployment/spring-sale)"); len(rs) != 0 {
		t.Fatalf("results %+v", rs)
	}
	found := false
	for _, p := range d.Policies {
		found = found || p == "deployments-need-team"
	}
	if !found {
		t.Fatalf("policies %v lack the constraint", d.Policies)
	}
	// warn and dryrun.
	for action, want := range map[string]string{"warn": "warn", "dryrun": "audit"} {
		setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("tier", action, `"acme.io/tier"`)})
		d, err = e.Evaluate(ctx, compliantRequest(workload()))
		if err != nil {
			t.Fatal(err)
		}
		if rs := resultsOf(d, "tier (Deployment/spring-sale)"); len(rs) != 1 || rs[0].Enforcement != want {
			t.Fatalf("%s: results %+v", action, rs)
		}
	}
}

func TestGatekeeperExceptionsAndMatch(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("tier", "", `"acme.io/tier"`)})
	ex := exception("tier-waiver", testNow.Add(days(3)), []string{"tier"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))
	d, err := e.Evaluate(ctx, request(workload(), withStandard(standard()), withExceptions(ex)))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, "tier (Deployment/spring-sale)")
	if len(rs) != 1 || !rs[0].Waived() {
		t.Fatalf("an exception for the workload waives its children's results: %+v", rs)
	}
	// A match that excludes the namespace, or selects other labels.
	for _, match := range []string{
		"    excludedNamespaces: [\"camp*\"]\n",
		"    namespaces: [\"other\"]\n",
		"    labelSelector: {matchLabels: {acme.io/legacy: \"true\"}}\n",
		"    namespaceSelector: {matchLabels: {env: prod}}\n",
		"    scope: Cluster\n",
	} {
		c := strings.Replace(requiredLabels("tier", "", `"acme.io/tier"`), "  match:\n", "  match:\n"+match, 1)
		if rep := setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{c}); rep.Errors != nil {
			t.Fatalf("%s: %+v", match, rep.Errors)
		}
		d, err := e.Evaluate(ctx, compliantRequest(workload()))
		if err != nil {
			t.Fatal(err)
		}
		if rs := resultsOf(d, "tier (Deployment/spring-sale)"); len(rs) != 0 {
			t.Errorf("%s: the constraint does not match, yet %+v", match, rs)
		}
	}
	// The namespace selector matches the request's namespace labels.
	c := strings.Replace(requiredLabels("tier", "", `"acme.io/tier"`), "  match:\n", "  match:\n    namespaceSelector: {matchLabels: {env: prod}}\n", 1)
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{c})
	req := compliantRequest(workload())
	req.Namespace = Namespace{Name: testNS, Labels: map[string]string{"env": "prod"}}
	d, err = e.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "tier (Deployment/spring-sale)"); len(rs) != 1 {
		t.Fatalf("namespaceSelector matching: %+v", d.Results)
	}
}

func TestGatekeeperReportAndLastGood(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("tier", "", `"acme.io/tier"`)})
	broken := strings.Replace(requiredLabelsTemplate, "count(missing_labels) > 0", "count(missing_labels) >", 1)
	rep := setGatekeeper(t, e, []string{broken}, []string{requiredLabels("tier", "", `"acme.io/tier"`)})
	errs := rep.Errors["ConstraintTemplate/k8srequiredlabels"]
	if len(errs) == 0 || errs[0].Line == 0 || errs[0].Module != "rego" {
		t.Fatalf("errors %+v: want a rego error with its line", rep.Errors)
	}
	d, err := e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "tier (Deployment/spring-sale)"); len(rs) != 1 {
		t.Fatalf("the last good template stays in force: %+v", d.Results)
	}

	bad := []string{
		requiredLabels("no-template", "", `"x"`),
		strings.Replace(requiredLabels("bad-params", "", `"x"`), "labels: [\"x\"]", "labels: 7", 1),
		requiredLabels("bad-action", "scoped", `"x"`),
		requiredLabels("allowed-registries", "", `"x"`), // a built-in's name
	}
	bad[0] = strings.Replace(bad[0], "K8sRequiredLabels", "K8sMissing", 1)
	rep = setGatekeeper(t, e, []string{requiredLabelsTemplate}, bad)
	for _, key := range []string{"K8sMissing/no-template", "K8sRequiredLabels/bad-params", "K8sRequiredLabels/bad-action", "K8sRequiredLabels/allowed-registries"} {
		if len(rep.Errors[key]) == 0 {
			t.Errorf("no error for %s: %+v", key, rep.Errors)
		}
	}
	if got := rep.Errors["K8sRequiredLabels/bad-params"]; len(got) == 0 || got[0].Module != "spec.parameters.labels" {
		t.Errorf("parameters error names the field: %+v", got)
	}

	cel := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8scelonly
spec:
  crd:
    spec:
      names:
        kind: K8sCelOnly
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            validations:
              - expression: "has(object.metadata.labels)"
                message: "labels required"
`
	rep = setGatekeeper(t, e, []string{cel}, []string{strings.Replace(requiredLabels("cel", "", `"x"`), "K8sRequiredLabels", "K8sCelOnly", 1)})
	if !strings.Contains(rep.Skipped["k8scelonly"], "K8sNativeValidation") || rep.Errors != nil {
		t.Fatalf("report %+v: a CEL-only template is skipped with the reason, its constraints with it", rep)
	}
}

func TestGatekeeperRegoV1AndInventory(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	// Rego v1, reading data.inventory: the Service of the same workload is
	// in the inventory beside the Deployment.
	tmpl := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sneedsservice
spec:
  crd:
    spec:
      names:
        kind: K8sNeedsService
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: Rego
          source:
            version: "v1"
            rego: |
              package k8sneedsservice

              violation contains {"msg": msg} if {
                input.review.kind.kind == "Deployment"
                ns := input.review.object.metadata.namespace
                name := input.review.object.metadata.name
                not data.inventory.namespace[ns]["v1"]["Service"][name]
                msg := sprintf("no Service %v", [name])
              }

              violation contains {"msg": msg} if {
                input.review.kind.kind == "Deployment"
                some name
                data.inventory.namespace[input.review.namespace]["v1"]["ConfigMap"][name].metadata.labels["acme.io/forbidden"]
                msg := sprintf("forbidden ConfigMap %v", [name])
              }
`
	con := `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNeedsService
metadata:
  name: needs-service
`
	if rep := setGatekeeper(t, e, []string{tmpl}, []string{con}); rep.Errors != nil {
		t.Fatalf("%+v", rep.Errors)
	}
	d, err := e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "needs-service (Deployment/spring-sale)"); len(rs) != 0 {
		t.Fatalf("the rendered Service is in data.inventory: %+v", rs)
	}
	req := compliantRequest(workload())
	req.Inventory, err = gatekeeper.NewInventory([]*unstructured.Unstructured{objectOf(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: legacy
  namespace: campaigns
  labels: {acme.io/forbidden: "yes"}
`)})
	if err != nil {
		t.Fatal(err)
	}
	d, err = e.Evaluate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "needs-service (Deployment/spring-sale)"); len(rs) != 1 || rs[0].Message != "forbidden ConfigMap legacy" {
		t.Fatalf("Request.Inventory is in data.inventory: %+v", d.Results)
	}
}

func TestGuardrailPolicyTargetsChildren(t *testing.T) {
	e := newTestEngine(t, Options{})
	ctx := context.Background()
	src := `package acme.replicas_child

violation contains {"msg": msg, "field": "spec.replicas"} if {
	input.kind == "Deployment"
	input.object.spec.replicas > 1
	input.owner.spec.owner.team == "growth"
	input.review.object.kind == "Deployment"
	msg := sprintf("%s runs %d replicas", [input.object.metadata.name, input.object.spec.replicas])
}
`
	if errs := e.SetPolicies([]v1alpha1.GuardrailPolicy{guardrailPolicy("child-replicas", src, targeting("Deployment"))}); errs != nil {
		t.Fatal(errs)
	}
	d, err := e.Evaluate(ctx, compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, "child-replicas (Deployment/spring-sale)")
	if len(rs) != 1 || rs[0].Field != "spec.replicas" || rs[0].Message != "spring-sale runs 2 replicas" {
		t.Fatalf("results %+v", d.Results)
	}
	if OfResult(rs[0].Policy) != "child-replicas" {
		t.Fatalf("OfResult(%q)", rs[0].Policy)
	}
	// An exception for the child itself.
	ex := exception("child", testNow.Add(days(3)), []string{"child-replicas"}, target("Deployment", "spring-sale"))
	d, err = e.Evaluate(ctx, request(workload(), withStandard(standard()), withExceptions(ex)))
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "child-replicas (Deployment/spring-sale)"); len(rs) != 1 || !rs[0].Waived() {
		t.Fatalf("an exception naming the child waives: %+v", rs)
	}
	// Nothing to render on DELETE.
	d, err = e.Evaluate(ctx, Request{Operation: OperationDelete, OldObject: workload(), Standard: standard(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if rs := resultsOf(d, "child-replicas (Deployment/spring-sale)"); len(rs) != 0 {
		t.Fatalf("DELETE: %+v", rs)
	}
}

func TestReviewArbitraryObject(t *testing.T) {
	e := newTestEngine(t, Options{})
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("tier", "", `"acme.io/tier"`)})
	dep := objectOf(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: raw
  namespace: default
`)
	d, err := e.Review(context.Background(), ReviewRequest{Object: dep})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Results) != 1 || d.Results[0].Policy != "tier" || d.Results[0].Enforcement != "deny" {
		t.Fatalf("results %+v", d.Results)
	}
	svc := objectOf(t, "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\n")
	d, err = e.Review(context.Background(), ReviewRequest{Object: svc})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Results) != 0 {
		t.Fatalf("a Service does not match kinds [Deployment]: %+v", d.Results)
	}
}

// The sample ConstraintTemplate and Constraint (config/samples/gatekeeper)
// deny the docs example's rendered Deployment and pass the sample workloads,
// whose credentials come from Secrets.
func TestSampleGatekeeperPair(t *testing.T) {
	read := func(file string) []*unstructured.Unstructured {
		data, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		var out []*unstructured.Unstructured
		for _, doc := range strings.Split(string(data), "\n---\n") {
			u := objectOf(t, doc)
			if len(u.Object) > 0 {
				out = append(out, u)
			}
		}
		return out
	}
	e := newTestEngine(t, Options{})
	rep := e.SetGatekeeper(read("config/samples/gatekeeper/no-literal-secrets-template.yaml"), read("config/samples/gatekeeper/no-literal-secrets-constraint.yaml"))
	if rep.Errors != nil || rep.Skipped != nil {
		t.Fatalf("%+v", rep)
	}
	typed := func(u *unstructured.Unstructured) *v1alpha1.MarketingWorkload {
		w, err := typedWorkload(u)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	example := typed(read("docs/examples/literal-secret-workload.yaml")[0])
	d, err := e.Evaluate(context.Background(), request(example, withStandard(standard())))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, "no-literal-secrets (Deployment/spring-teaser)")
	if len(rs) != 1 || rs[0].Enforcement != "deny" || !strings.Contains(rs[0].Message, "container app sets ANALYTICS_API_KEY as a literal value") {
		t.Fatalf("results %+v", d.Results)
	}
	samples := read("config/samples/07_marketingworkloads.yaml")
	sis := read("config/samples/06_saasintegrations.yaml")
	integrations := map[string]*v1alpha1.SaaSIntegration{}
	for _, u := range sis {
		var si v1alpha1.SaaSIntegration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &si); err != nil {
			t.Fatal(err)
		}
		integrations[si.Name] = &si
	}
	for _, u := range samples {
		w := typed(u)
		d, err := e.Evaluate(context.Background(), request(w, withStandard(standard()), func(r *Request) { r.Integrations = integrations }))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(d.Policies, "no-literal-secrets") {
			t.Fatalf("%s: the constraint did not judge the rendered Deployment (policies %v)", w.Name, d.Policies)
		}
		for _, r := range d.Results {
			if strings.HasPrefix(r.Policy, "no-literal-secrets") {
				t.Errorf("%s: %+v", w.Name, r)
			}
		}
	}
}

// Results on rendered children count for their policy in the metrics: one
// series per constraint, not one per child.
func TestChildResultsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newTestEngine(t, Options{Registerer: reg})
	setGatekeeper(t, e, []string{requiredLabelsTemplate}, []string{requiredLabels("tier", "", `"acme.io/tier"`)})
	req := compliantRequest(workload())
	req.Operation = OperationCreate
	if _, err := e.Evaluate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.metrics.denials.WithLabelValues("tier", "deny")); got != 1 {
		t.Errorf("admission_denials_total{tier,deny} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.evaluations.WithLabelValues("tier", "violation")); got != 1 {
		t.Errorf("evaluations_total{tier,violation} = %v, want 1", got)
	}
}

// Templates get the GuardrailPolicies' restricted capabilities and time
// budget: http.send is refused at compile time with its line, and a
// template that runs too long gives an error result, not a hang.
func TestGatekeeperCapabilitiesAndBudget(t *testing.T) {
	e := newTestEngine(t, Options{Timeout: 50 * time.Millisecond})
	outward := strings.Replace(requiredLabelsTemplate, "count(missing_labels) > 0", `http.send({"method": "get", "url": "https://example.com"})`, 1)
	rep := setGatekeeper(t, e, []string{outward}, nil)
	errs := rep.Errors["ConstraintTemplate/k8srequiredlabels"]
	if len(errs) == 0 || !strings.Contains(errs[0].Message, "http.send") || errs[0].Line == 0 {
		t.Fatalf("errors %+v: want http.send refused with its line", rep.Errors)
	}
	slow := strings.Replace(requiredLabelsTemplate, "count(missing_labels) > 0", "count([x | some x in numbers.range(1, 1000000); x < 0]) == 0", 1)
	slow = strings.Replace(slow, "rego: |\n        package k8srequiredlabels\n", "rego: |\n        package k8srequiredlabels\n\n        import future.keywords.in\n", 1)
	if rep := setGatekeeper(t, e, []string{slow}, []string{requiredLabels("tier", "", `"acme.io/tier"`)}); rep.Errors != nil {
		t.Fatalf("%+v", rep.Errors)
	}
	d, err := e.Evaluate(context.Background(), compliantRequest(workload()))
	if err != nil {
		t.Fatal(err)
	}
	rs := resultsOf(d, "tier (Deployment/spring-sale)")
	if len(rs) != 1 || rs[0].Enforcement != EnforcementError || !strings.Contains(rs[0].Message, "time budget") {
		t.Fatalf("results %+v: want an error result for the slow template", rs)
	}
}
