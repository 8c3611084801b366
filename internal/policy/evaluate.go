package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opametrics "github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// Evaluate evaluates the request's object against every policy in force that
// targets its kind and returns the decision. Exceptions are applied and the
// standard's disabled policies and enforcement overrides honoured. A policy
// that fails or exceeds its time budget gives a result with enforcement
// "error"; Evaluate itself fails only for a request it cannot read (no
// object, an unknown kind) or when ctx ends.
//
// For a MarketingWorkload, the SaaSIntegrations it references (from
// req.Integrations) are evaluated first, with the same context, and their
// verdicts handed to the workload's policies in input.integrations.
func (e *Engine) Evaluate(ctx context.Context, req Request) (*Decision, error) {
	start := time.Now()
	set := e.cur.Load()
	obj, err := input.ToObject(req.Object)
	if err != nil {
		return nil, err
	}
	old, err := input.ToObject(req.OldObject)
	if err != nil {
		return nil, err
	}
	subject := obj
	if subject == nil {
		subject = old
	}
	if subject == nil {
		return nil, ErrNoObject
	}
	if unmanagedKind(subject.Kind) {
		return e.evaluateUnmanaged(&req, subject, start), nil
	}
	if !knownKind(subject.Kind) {
		return nil, fmt.Errorf("policy: unsupported kind %q (want one of the martech.guardrails.dev kinds)", subject.Kind)
	}
	op := req.Operation
	if op == "" {
		op = OperationAudit
	}
	ev, done, err := e.newEvaluation(ctx, &req, set, start)
	if err != nil {
		return nil, err
	}
	defer done()
	sh := ev.shared

	namespace := ""
	if input.Namespaced(subject.Kind) {
		namespace = cmp.Or(req.Namespace.Name, subject.Namespace)
	}
	integrations, effective := input.EmptyObject(), (*ast.Term)(nil)
	var workload *v1alpha1.MarketingWorkload // typed, for the renderer's rules
	if subject.Kind == v1alpha1.KindMarketingWorkload && obj != nil {
		integrations, err = ev.integrations(&req, obj, op, namespace)
		if err != nil {
			return nil, err
		}
		if workload, err = typedWorkload(req.Object); err != nil {
			return nil, err
		}
		if effective, err = effectiveTerm(workload, req.Standard); err != nil {
			return nil, err
		}
	}
	judge := func() (*Decision, []outcome, error) {
		in := input.NewDocument(sh, string(op), obj, old, subject, namespace, integrations)
		if effective != nil {
			in.Add(keyEffective, effective)
		}
		x := req.Object
		if obj == nil {
			x = req.OldObject
		}
		if pf := portfolioTerm(&req, subject, x, ev.now); pf != nil {
			in.Add(keyPortfolio, pf)
		}
		return ev.object(subject, namespace, in)
	}
	var d *Decision
	var outcomes []outcome
	if subject.Kind == v1alpha1.KindSaaSIntegration && old == nil && ev.memo != nil {
		// The same decision a workload's evaluation shares; a copy, since
		// the caller owns what Evaluate returns.
		d, outcomes, err = ev.memo.decision(ev.memoKey(op, namespace, subject.Name), judge)
		if d != nil {
			d = d.clone()
		}
	} else {
		d, outcomes, err = judge()
	}
	if err != nil {
		return nil, err
	}
	if set.childrenJudged(subject.Kind, obj) {
		rs, names, outs, err := ev.children(&req, workload, obj, op, namespace, integrations)
		if err != nil {
			return nil, err
		}
		d.Results = append(d.Results, rs...)
		d.Policies = slices.Compact(slices.Sorted(slices.Values(append(d.Policies, names...))))
		outcomes = append(outcomes, outs...)
		slices.SortStableFunc(d.Results, func(a, b Result) int { return strings.Compare(a.Policy, b.Policy) })
	}
	e.metrics.observe(subject.Kind, op, time.Since(start), outcomes, d.Results)
	return d, nil
}

// newEvaluation prepares one evaluation of req against set, started at
// start: the shared part of the input, the exceptions in force, the
// standard's settings and a read transaction, which done ends.
func (e *Engine) newEvaluation(ctx context.Context, req *Request, set *policySet, start time.Time) (ev *evaluation, done func(), err error) {
	now := req.Now
	if now.IsZero() {
		now = start
	}
	sh, err := newShared(req, set, now, e.cache)
	if err != nil {
		return nil, nil, err
	}
	ev = &evaluation{
		engine:   e,
		set:      set,
		ctx:      ctx,
		deadline: start.Add(e.budget),
		now:      now,
		memo:     req.Memo,
		shared:   sh,
		waivers:  activeWaivers(req.Exceptions, now),
		nsLabels: labels.Set(req.Namespace.Labels),
	}
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	ev.txn = txn
	if req.Standard != nil {
		ev.standard = req.Standard.Name
		ev.disabled = req.Standard.Spec.Policies.Disabled
		ev.overrides = req.Standard.Spec.Policies.Enforcement
	}
	return ev, func() { e.store.Abort(ctx, txn) }, nil
}

// Keys of an integration's verdict (input.integrations[name].guardrails)
// and of a violation.
var (
	keyCompliant   = ast.InternedTerm("compliant")
	keyViolations  = ast.InternedTerm("violations")
	keyPolicy      = ast.InternedTerm("policy")
	keyMsg         = ast.InternedTerm("msg")
	keyField       = ast.InternedTerm("field")
	keyRemediation = ast.InternedTerm("remediation")
	keyEnforcement = ast.InternedTerm("enforcement")
)

// evaluation is one call of Evaluate.
type evaluation struct {
	engine    *Engine
	set       *policySet
	ctx       context.Context
	deadline  time.Time // of the request budget
	now       time.Time
	memo      *Memo
	standard  string // name of the PlatformStandard in force, for memoKey
	shared    *input.Shared
	waivers   waivers
	nsLabels  labels.Set
	disabled  []string
	overrides map[string]v1alpha1.Enforcement
	txn       storage.Transaction // one read transaction for every query
}

// integrations evaluates the SaaSIntegrations a workload references and
// returns input.integrations: each one with its verdict in `guardrails`.
func (ev *evaluation) integrations(req *Request, wl *input.Object, op Operation, namespace string) (*ast.Term, error) {
	if len(req.Integrations) == 0 {
		return input.EmptyObject(), nil
	}
	// The integrations are evaluated as they stand, not as the operation
	// on the workload: the verdict must not depend on which door asks.
	if op != OperationCheck {
		op = OperationAudit
	}
	var pairs [][2]*ast.Term
	done := make(map[string]bool)
	for _, name := range referencedIntegrations(wl.Value) {
		si := req.Integrations[name]
		if done[name] || si == nil {
			continue
		}
		done[name] = true
		obj, err := ev.engine.cache.Object(si)
		if err != nil {
			return nil, err
		}
		ns := cmp.Or(obj.Namespace, namespace)
		d, _, err := ev.memo.decision(ev.memoKey(op, ns, obj.Name), func() (*Decision, []outcome, error) {
			in := input.NewDocument(ev.shared, string(op), obj, nil, obj, ns, input.EmptyObject())
			in.Add(keyPortfolio, portfolioTerm(req, obj, si, ev.now))
			return ev.object(obj, ns, in)
		})
		if err != nil {
			return nil, err
		}
		denies := d.Denies()
		violations := make([]*ast.Term, len(denies))
		for i, r := range denies {
			violations[i] = ast.ObjectTerm(
				ast.Item(keyPolicy, ast.StringTerm(r.Policy)),
				ast.Item(keyMsg, ast.StringTerm(r.Message)),
			)
		}
		verdict := ast.ObjectTerm(
			ast.Item(keyCompliant, ast.BooleanTerm(len(denies) == 0)),
			ast.Item(keyViolations, ast.ArrayTerm(violations...)),
		)
		value := obj.Value
		if o, ok := value.(ast.Object); ok {
			value = input.With(o, "guardrails", verdict)
		}
		pairs = append(pairs, ast.Item(ast.StringTerm(name), ast.NewTerm(value)))
	}
	return ast.ObjectTerm(pairs...), nil
}

// memoKey is the key of a SaaSIntegration's decision in a Memo.
func (ev *evaluation) memoKey(op Operation, namespace, name string) memoKey {
	return memoKey{set: ev.set, op: op, now: ev.now.UnixNano(), standard: ev.standard, namespace: namespace, name: name}
}

// referencedIntegrations returns spec.integrations[*].name of a workload.
func referencedIntegrations(v ast.Value) []string {
	refs, _ := lookup(v, []string{"spec", "integrations"})
	list, _ := refs.(*ast.Array)
	if list == nil {
		return nil
	}
	names := make([]string, 0, list.Len())
	for i := range list.Len() {
		ref, _ := list.Elem(i).Value.(ast.Object)
		if ref == nil {
			continue
		}
		if t := ref.Get(input.KeyName); t != nil {
			if name, _ := t.Value.(ast.String); name != "" {
				names = append(names, string(name))
			}
		}
	}
	return names
}

// outcome is how one policy fared on one object, for metrics.
type outcome struct {
	policy string
	failed bool
}

// object evaluates every policy targeting subject's kind.
func (ev *evaluation) object(subject *input.Object, namespace string, in *input.Document) (*Decision, []outcome, error) {
	d := &Decision{Kind: subject.Kind, Namespace: namespace, Name: subject.Name}
	var outcomes []outcome
	for _, info := range ev.set.validation {
		if slices.Contains(info.Targets, subject.Kind) {
			d.Policies = append(d.Policies, info.Name)
		}
	}
	d.Results = ev.validate(subject)
	add := func(info *Info, value *ast.Term, err error) {
		d.Policies = append(d.Policies, info.Name)
		outcomes = append(outcomes, outcome{policy: info.Name, failed: err != nil})
		if err != nil {
			d.Results = append(d.Results, ev.failure(info, subject, namespace, err))
			return
		}
		d.Results = ev.results(d.Results, info, subject, namespace, value)
	}

	if kq := ev.set.builtins.byKind[subject.Kind]; kq != nil {
		base := in.Value(input.EmptyObject())
		values, err := ev.run(kq.query, kq.results, base, kq.vars)
		if err != nil && ev.ctx.Err() != nil {
			return nil, nil, ev.ctx.Err()
		}
		for i, p := range kq.policies {
			if settingOf(ev.disabled, ev.overrides, p.info).Disabled {
				d.Disabled = append(d.Disabled, p.info.Name)
				continue
			}
			if err == nil {
				add(&p.info, values[i], nil)
				continue
			}
			// Find out which built-in failed: evaluate each on its own.
			v, err := ev.run(p.alone, nil, base, []string{"v"})
			if err != nil && ev.ctx.Err() != nil {
				return nil, nil, ev.ctx.Err()
			}
			add(&p.info, v[0], err)
		}
	}
	for _, p := range ev.set.byKind[subject.Kind] {
		if settingOf(ev.disabled, ev.overrides, p.info).Disabled {
			d.Disabled = append(d.Disabled, p.info.Name)
			continue
		}
		if p.selector != nil && input.Namespaced(subject.Kind) && !p.selector.Matches(ev.nsLabels) {
			continue
		}
		v, err := ev.run(p.rego.query, p.rego.results, in.Value(p.params), []string{"v"})
		if err != nil && ev.ctx.Err() != nil {
			return nil, nil, ev.ctx.Err()
		}
		add(&p.info, v[0], err)
	}
	slices.SortStableFunc(d.Results, func(a, b Result) int { return strings.Compare(a.Policy, b.Policy) })
	slices.Sort(d.Policies)
	slices.Sort(d.Disabled)
	return d, outcomes, nil
}

// errBudget says a policy ran out of time.
type errBudget time.Duration

func (e errBudget) Error() string {
	return fmt.Sprintf("evaluation exceeded the time budget of %s", time.Duration(e))
}

// errRequestBudget says the request's budget was spent before or while a
// policy ran.
type errRequestBudget time.Duration

func (e errRequestBudget) Error() string {
	return fmt.Sprintf("the request's time budget of %s (all policies, the object's and its integrations') was spent", time.Duration(e))
}

// keepAST hands query results back as AST terms, saving a conversion.
func keepAST(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// noMetrics saves OPA from allocating metrics for every evaluation.
var noMetrics = opametrics.NoOp()

// run evaluates a prepared query under the time budget and returns the
// values bound to vars (nil terms when the query is undefined). The budget
// and the caller's context cancel the evaluation through a topdown.Cancel,
// which saves OPA a goroutine per evaluation.
//
// Results come from, and go to, rc when it is not nil (see resultCache).
func (ev *evaluation) run(pq rego.PreparedEvalQuery, rc *resultCache, in ast.Value, vars []string) (values []*ast.Term, err error) {
	if cached, hit := rc.get(in); hit {
		return cached, nil
	}
	values = make([]*ast.Term, len(vars))
	defer func() {
		// A panic in a built-in function is the policy's failure, not the
		// process's.
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluation panicked: %v", r)
		}
	}()
	timeout, budgetErr := ev.engine.timeout, error(errBudget(ev.engine.timeout))
	if remaining := time.Until(ev.deadline); remaining < timeout {
		if remaining <= 0 {
			return values, errRequestBudget(ev.engine.budget)
		}
		timeout, budgetErr = remaining, errRequestBudget(ev.engine.budget)
	}
	cancel := topdown.NewCancel()
	timer := time.AfterFunc(timeout, cancel.Cancel)
	defer timer.Stop()
	if ev.ctx.Done() != nil {
		defer context.AfterFunc(ev.ctx, cancel.Cancel)()
	}
	rs, err := pq.Eval(ev.ctx,
		rego.EvalParsedInput(in),
		rego.EvalGenerateJSON(keepAST),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics),
		rego.EvalTransaction(ev.txn),
	)
	if err != nil {
		if ev.ctx.Err() == nil && cancel.Cancelled() {
			return values, budgetErr
		}
		return values, err
	}
	if len(rs) == 0 {
		rc.put(in, values)
		return values, nil
	}
	for i, v := range vars {
		values[i], _ = rs[0].Bindings[v].(*ast.Term)
	}
	rc.put(in, values)
	return values, nil
}

// failure is the result of a policy that could not be evaluated.
func (ev *evaluation) failure(info *Info, subject *input.Object, namespace string, err error) Result {
	r := Result{
		Policy:      info.Name,
		Title:       info.Title,
		Enforcement: EnforcementError,
		Severity:    info.Severity,
		Category:    info.Category,
		Message:     fmt.Sprintf("policy %s could not be evaluated: %v", info.Name, err),
	}
	r.Exception = ev.waivers.find(info.Name, subject.Kind, namespace, subject.Name)
	return r
}

// results appends the violations in value (a set or array of strings or
// {msg, field, remediation, enforcement} objects) to out.
func (ev *evaluation) results(out []Result, info *Info, subject *input.Object, namespace string, value *ast.Term) []Result {
	if value == nil {
		return out
	}
	var elems []*ast.Term
	switch v := value.Value.(type) {
	case ast.Set:
		v.Sorted().Foreach(func(t *ast.Term) { elems = append(elems, t) })
	case *ast.Array:
		v.Foreach(func(t *ast.Term) { elems = append(elems, t) })
	default:
		return append(out, ev.failure(info, subject, namespace, fmt.Errorf("violation is a %s, want a set", ast.ValueName(v))))
	}
	if len(elems) == 0 {
		return out
	}
	setting := settingOf(ev.disabled, ev.overrides, *info)
	waiver := ev.waivers.find(info.Name, subject.Kind, namespace, subject.Name)
	for _, el := range elems {
		r := Result{
			Policy:      info.Name,
			Title:       info.Title,
			Enforcement: info.Enforcement,
			Severity:    info.Severity,
			Category:    info.Category,
			Exception:   waiver,
		}
		switch v := el.Value.(type) {
		case ast.String:
			r.Message = string(v)
		case ast.Object:
			r.Message = text(v.Get(keyMsg))
			r.Field = text(v.Get(keyField))
			r.Remediation = text(v.Get(keyRemediation))
			if enf := text(v.Get(keyEnforcement)); validEnforcement(enf) {
				r.Enforcement = enf
			}
			if r.Message == "" {
				r.Message = valueText(v)
			}
		default:
			r.Message = valueText(v)
		}
		if setting.Overridden {
			r.Enforcement = setting.Enforcement
		}
		out = append(out, r)
	}
	return out
}

// text returns a string term's value, or any other term as Rego text.
func text(t *ast.Term) string {
	if t == nil {
		return ""
	}
	if s, ok := t.Value.(ast.String); ok {
		return string(s)
	}
	return valueText(t.Value)
}

// valueText is v as Rego text, unless that text would pass MaxMessage
// bytes (a value built of shared parts can expand to gigabytes): then a
// sentence saying so.
func valueText(v ast.Value) string {
	s := newSizer(styleRego, MaxMessage, MaxBuiltinElements, nil)
	s.size(v)
	if s.over {
		return fmt.Sprintf("(a violation of more than %d bytes or %d values, not shown)", MaxMessage, MaxBuiltinElements)
	}
	return v.String()
}
