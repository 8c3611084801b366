// Package policy is the one policy engine behind every door: the admission
// webhook, the reconcilers, the background audit and the guardrails CLI. It
// compiles the built-in Rego policies (package policies) together with the
// platform team's GuardrailPolicy resources, builds the input document
// described in docs/policies.md, evaluates an object against every policy
// targeting its kind, and applies PolicyExceptions and the PlatformStandard's
// overrides, so that the same object gives the same verdict everywhere.
//
// # Use
//
//	e, err := policy.New(policy.Options{Registerer: metrics.Registry})
//	errs := e.SetPolicies(guardrailPolicies) // on every GuardrailPolicy change
//	d, err := e.Evaluate(ctx, policy.Request{
//		Operation: policy.OperationCreate,
//		Object:    workload, // typed, unstructured or map[string]any
//		Namespace: policy.Namespace{Name: ns.Name, Labels: ns.Labels},
//		Standard:  standard, Vendors: vendors, Integrations: integrations,
//		Secrets:   secrets, Exceptions: exceptions,
//	})
//	if d.Denied() { ... d.Denies() ... }      // warn: d.Warnings(), audit: d.Audits()
//
// The webhook checks a GuardrailPolicy with CheckPolicy before it is stored
// and the GuardrailPolicy reconciler reports Errors(name) in its status.
// Policies lists what is in force, for `guardrails policies`.
//
// # Policies in force
//
// The built-ins are compiled once by New; a built-in that does not compile,
// or whose METADATA lacks custom.name, enforcement, severity, category or
// targets, makes New fail. Their enforcement, severity, category, title and
// description come from that METADATA.
//
// SetPolicies rebuilds the custom policies. Each GuardrailPolicy is compiled
// on its own (spec.rego, whose package must define violation, and spec.libs)
// with restricted capabilities: non-deterministic and outward built-ins
// (http.send, net.*, opa.runtime, time.now_ns, rand.*, uuid.*, io.jwt key
// verification, trace, print, ...) are refused at compile time with
// "undefined function NAME (not allowed in GuardrailPolicy)" at line:col.
// A policy that compiles is in force; one that does not keeps its last good
// version, if any, and its errors are kept for Errors. Two policies may not
// declare the same package (the one already holding it keeps it), and custom
// packages may not live under data.guardrails. A policy whose Rego is
// unchanged is not recompiled. A custom policy sees the input document,
// data.guardrails.taxonomy and its own modules, not other policies. The built-ins and the custom policies in force
// form one immutable set published through an atomic pointer: Evaluate reads
// one set from start to end, and many goroutines may evaluate while
// SetPolicies swaps.
//
// Prepared queries are built when a set is built, never while evaluating:
// one query per kind binds the violation sets of every built-in targeting
// that kind, and each custom policy has its own query (it has its own
// input.parameters and its own time budget).
//
// # Evaluation
//
// Evaluate converts the request once into OPA's AST (typed objects through
// runtime.DefaultUnstructuredConverter, with apiVersion and kind filled in
// when their TypeMeta is empty) and shares it between queries. Objects of the
// catalogue that carry a UID and resourceVersion are taken to be unmodified
// copies of stored objects and their conversion is cached. For a
// MarketingWorkload the SaaSIntegrations it references are evaluated first
// (with operation AUDIT, or CHECK for the CLI: their verdict does not depend
// on the door asking) and handed over as input.integrations[name] with
// guardrails: {compliant, violations: [{policy, msg}]}, where violations are
// their deny results no exception waives.
//
// Each violation becomes a Result. Its enforcement is, by precedence, the
// standard's spec.policies.enforcement[policy], the violation's own
// enforcement, the policy's. Policies named in spec.policies.disabled are
// skipped; both settings apply to built-in and custom policies alike. A
// custom policy's namespaceSelector limits it to namespaced objects in
// matching namespaces.
//
// An unexpired PolicyException (now before expiresAt) waives a policy's
// results on an object when its policies name the policy and its targets
// name the object's kind and name, in the exception's namespace for
// namespaced kinds (any namespace for cluster-scoped ones). Waived results
// stay in the decision with the exception (namespace/name, expiry) and
// count neither as denies nor as warnings; when several match, the one
// expiring last is recorded.
//
// # Safety
//
// Each query runs under Options.Timeout (100ms by default): the built-ins of
// a kind share one budget, each custom policy has its own. A policy that
// runs out of time or fails at run time (a conflict, say) gives one Result
// with enforcement "error" for that policy; when the built-ins' shared query
// fails, each built-in is evaluated alone to find which one. Evaluate fails
// only for a request it cannot read (ErrNoObject, a kind other than our six)
// or when ctx is done.
//
// # Metrics
//
// With Options.Registerer: guardrails_policy_evaluations_total{policy,result}
// (pass, violation, waived, error; one per policy and evaluated object),
// guardrails_policy_evaluation_duration_seconds{kind} (one per Evaluate) and
// guardrails_admission_denials_total{policy,enforcement} (results not waived). The
// integrations a workload references are not counted again.
package policy
