package policy

import (
	"errors"
	"fmt"
	"github.com/open-policy-agent/opa/v1/ast"
	"maps"
	"slices"
	"strings"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
	"github.com/martech-guardrails/guardrails/internal/taxonomy"
)

// The engine's own checks: what makes an object malformed whatever the
// policies say. They are built-in policies written in Go (the nearest-key
// suggestion needs an edit distance Rego does not have), listed by Policies
// with the Rego built-ins, and every door gets them from Evaluate. A
// PlatformStandard can neither disable them nor change their enforcement,
// and no PolicyException waives them: an unknown key is a typo to fix, not
// a risk to accept.
const (
	// PolicyTaxonomyKeys denies fideslang keys the taxonomy does not know:
	// data categories, uses and subjects of every kind that names them.
	PolicyTaxonomyKeys = "taxonomy-keys"
	// PolicyNames warns about policy names in a PlatformStandard's
	// spec.policies (disabled, enforcement) that no policy in force has. It
	// warns rather than denies so that a standard naming a GuardrailPolicy
	// applied later in the same sync is admitted; the standard's status says
	// UnknownPolicy until the name resolves.
	PolicyNames = "policy-names"
)

// taxonomyField is one field of a kind holding taxonomy keys.
type taxonomyField struct {
	path []string // under the object, e.g. spec, dataCategories
	kind taxonomy.Kind
	list bool
}

// taxonomyFields are the fields each kind names taxonomy keys in.
var taxonomyFields = map[string][]taxonomyField{
	v1alpha1.KindMarketingWorkload: {
		{path: []string{"spec", "dataCategories"}, kind: taxonomy.DataCategory, list: true},
	},
	v1alpha1.KindSaaSIntegration: {
		{path: []string{"spec", "dataUse"}, kind: taxonomy.DataUse},
		{path: []string{"spec", "dataCategories"}, kind: taxonomy.DataCategory, list: true},
		{path: []string{"spec", "dataSubjects"}, kind: taxonomy.DataSubject, list: true},
	},
	v1alpha1.KindVendor: {
		{path: []string{"spec", "allowedDataCategories"}, kind: taxonomy.DataCategory, list: true},
		{path: []string{"spec", "allowedDataUses"}, kind: taxonomy.DataUse, list: true},
	},
	v1alpha1.KindPlatformStandard: {
		{path: []string{"spec", "sensitiveDataCategories"}, kind: taxonomy.DataCategory, list: true},
	},
}

// validationInfos are the PolicyInfos of the engine's own checks.
func validationInfos() []Info {
	taxKinds := slices.Sorted(maps.Keys(taxonomyFields))
	return []Info{
		{
			Name:        PolicyTaxonomyKeys,
			Title:       "Data categories, uses and subjects are fideslang keys",
			Description: "Every data category, data use and data subject a MarketingWorkload, SaaSIntegration, Vendor or PlatformStandard names must be a key of the fideslang taxonomy; an unknown key is rejected with the nearest known keys. It cannot be disabled, overridden or waived.",
			Enforcement: string(v1alpha1.EnforcementDeny),
			Severity:    string(v1alpha1.SeverityHigh),
			Category:    "validation",
			Targets:     taxKinds,
			Builtin:     true,
		},
		{
			Name:        PolicyNames,
			Title:       "A standard names only policies that exist",
			Description: "Every policy name in a PlatformStandard's spec.policies.disabled and spec.policies.enforcement must be a policy in force (built-in or GuardrailPolicy); an unknown name does nothing, so it is reported with the nearest known names. It warns (a standard may name a GuardrailPolicy applied later) and cannot be disabled, overridden or waived.",
			Enforcement: string(v1alpha1.EnforcementWarn),
			Severity:    string(v1alpha1.SeverityMedium),
			Category:    "validation",
			Targets:     []string{v1alpha1.KindPlatformStandard},
			Builtin:     true,
		},
	}
}

// validationPolicy reports whether name is one of the engine's own checks,
// which standards cannot disable or override and exceptions cannot waive.
func validationPolicy(name string) bool {
	return name == PolicyTaxonomyKeys || name == PolicyNames
}

// IsValidation reports whether a result comes from one of the engine's own
// checks: the object is malformed (the admission webhook answers 422
// Invalid for a deny of one of them, 403 Forbidden for any other deny).
func (r *Result) IsValidation() bool { return validationPolicy(r.Policy) }

// validate runs the engine's own checks on subject.
func (ev *evaluation) validate(subject *input.Object) []Result {
	var out []Result
	for _, f := range taxonomyFields[subject.Kind] {
		out = append(out, ev.taxonomyKeys(subject, f)...)
	}
	if subject.Kind == v1alpha1.KindPlatformStandard {
		out = append(out, ev.policyNames(subject)...)
	}
	return out
}

func (ev *evaluation) info(name string) *Info {
	for i := range ev.set.validation {
		if ev.set.validation[i].Name == name {
			return &ev.set.validation[i]
		}
	}
	panic("policy: no validation policy " + name)
}

// taxonomyKeys reports each unknown key of one field once, at its first
// index, with the nearest known keys.
func (ev *evaluation) taxonomyKeys(subject *input.Object, f taxonomyField) []Result {
	v, ok := lookup(subject.Value, f.path)
	if !ok || v == nil {
		return nil
	}
	field := strings.Join(f.path, ".")
	var keys []string
	var at []string
	switch x := v.(type) {
	case *ast.Array:
		for i := range x.Len() {
			s, _ := x.Elem(i).Value.(ast.String)
			keys = append(keys, string(s))
			at = append(at, fmt.Sprintf("%s[%d]", field, i))
		}
	case ast.String:
		if x == "" {
			return nil
		}
		keys, at = []string{string(x)}, []string{field}
	default:
		return nil
	}
	var out []Result
	for _, uk := range unknownKeys(ev.engine.taxonomy.Validate(f.kind, keys)) {
		i := slices.Index(keys, uk.Key)
		words := kindWords[f.kind]
		msg := fmt.Sprintf("unknown %s %q", words, uk.Key)
		rem := fmt.Sprintf("Use a fideslang %s key: a dotted path of the taxonomy such as %s.", words, exampleKey[f.kind])
		if len(uk.Suggestions) > 0 {
			msg += ", did you mean " + strings.Join(uk.Suggestions, ", ") + "?"
			rem = fmt.Sprintf("Use %s, or another fideslang %s key.", strings.Join(uk.Suggestions, " or "), words)
		}
		out = append(out, ev.validationResult(PolicyTaxonomyKeys, at[i], msg, rem))
	}
	return out
}

var kindWords = map[taxonomy.Kind]string{
	taxonomy.DataCategory: "data category",
	taxonomy.DataUse:      "data use",
	taxonomy.DataSubject:  "data subject",
}

var exampleKey = map[taxonomy.Kind]string{
	taxonomy.DataCategory: "user.contact.email",
	taxonomy.DataUse:      "marketing.communications.email",
	taxonomy.DataSubject:  "customer",
}

// policyNames reports names in a standard's spec.policies that no policy
// in force has.
func (ev *evaluation) policyNames(subject *input.Object) []Result {
	var out []Result
	report := func(field, name string) {
		if ev.set.inForce[name] {
			return
		}
		msg := fmt.Sprintf("no policy named %q is in force", name)
		rem := "Name a built-in policy (guardrails policies lists them) or a GuardrailPolicy that exists."
		if near := taxonomy.Suggest(name, ev.set.inForceNames); len(near) > 0 {
			msg += " (did you mean " + strings.Join(near, ", ") + "?)"
			rem = "Use " + strings.Join(near, " or ") + ", or remove the entry."
		}
		out = append(out, ev.validationResult(PolicyNames, field, msg, rem))
	}
	if disabled, ok := lookup(subject.Value, []string{"spec", "policies", "disabled"}); ok {
		if list, ok := disabled.(*ast.Array); ok {
			for i := range list.Len() {
				if s, ok := list.Elem(i).Value.(ast.String); ok {
					report(fmt.Sprintf("spec.policies.disabled[%d]", i), string(s))
				}
			}
		}
	}
	if enf, ok := lookup(subject.Value, []string{"spec", "policies", "enforcement"}); ok {
		if m, ok := enf.(ast.Object); ok {
			var names []string
			for _, k := range m.Keys() {
				if s, ok := k.Value.(ast.String); ok {
					names = append(names, string(s))
				}
			}
			slices.Sort(names)
			for _, name := range names {
				report("spec.policies.enforcement."+name, name)
			}
		}
	}
	return out
}

// UnknownPolicyNames returns the names a standard's spec.policies gives that
// no policy in force has, as the policy-names check reports them.
func (e *Engine) UnknownPolicyNames(std *v1alpha1.PlatformStandard) []string {
	inForce := e.cur.Load().inForce
	var out []string
	for _, n := range std.Spec.Policies.Disabled {
		if !inForce[n] {
			out = append(out, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(std.Spec.Policies.Enforcement)) {
		if !inForce[n] {
			out = append(out, n)
		}
	}
	return out
}

func (ev *evaluation) validationResult(policy, field, msg, remediation string) Result {
	info := ev.info(policy)
	return Result{
		Policy:      info.Name,
		Title:       info.Title,
		Enforcement: info.Enforcement,
		Severity:    info.Severity,
		Category:    info.Category,
		Message:     msg,
		Field:       field,
		Remediation: remediation,
	}
}

// lookup returns the value at path in v (nil for JSON null).
func lookup(v ast.Value, path []string) (ast.Value, bool) {
	cur := v
	for _, p := range path {
		o, ok := cur.(ast.Object)
		if !ok {
			return nil, false
		}
		t := o.Get(ast.InternedTerm(p))
		if t == nil {
			return nil, false
		}
		cur = t.Value
	}
	if _, null := cur.(ast.Null); null {
		return nil, true
	}
	return cur, true
}

// unknownKeys unpacks the errors taxonomy.Validate joins.
func unknownKeys(err error) []*taxonomy.UnknownKeyError {
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []*taxonomy.UnknownKeyError
	for _, e := range errs {
		var uk *taxonomy.UnknownKeyError
		if errors.As(e, &uk) {
			out = append(out, uk)
		}
	}
	return out
}
