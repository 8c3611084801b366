package webhook

import (
	"errors"
	"fmt"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/taxonomy"
)

// The kinds' own checks: what makes an object malformed whatever the
// policies say. Unknown taxonomy keys are a validation error, not silently
// kept; a GuardrailPolicy must compile.

func (w *Webhooks) checkWorkload(o *v1alpha1.MarketingWorkload) []violation {
	return w.keys(taxonomy.DataCategory, "spec.dataCategories", o.Spec.DataCategories)
}

func (w *Webhooks) checkIntegration(o *v1alpha1.SaaSIntegration) []violation {
	var out []violation
	if o.Spec.DataUse != "" {
		out = append(out, w.key(taxonomy.DataUse, "spec.dataUse", o.Spec.DataUse)...)
	}
	out = append(out, w.keys(taxonomy.DataCategory, "spec.dataCategories", o.Spec.DataCategories)...)
	return append(out, w.keys(taxonomy.DataSubject, "spec.dataSubjects", o.Spec.DataSubjects)...)
}

func (w *Webhooks) checkVendor(o *v1alpha1.Vendor) []violation {
	return append(w.keys(taxonomy.DataCategory, "spec.allowedDataCategories", o.Spec.AllowedDataCategories),
		w.keys(taxonomy.DataUse, "spec.allowedDataUses", o.Spec.AllowedDataUses)...)
}

func (w *Webhooks) checkStandard(o *v1alpha1.PlatformStandard) []violation {
	return w.keys(taxonomy.DataCategory, "spec.sensitiveDataCategories", o.Spec.SensitiveDataCategories)
}

// checkPolicy compiles the policy against the set in force, as SetPolicies
// would, without putting it in force.
func (w *Webhooks) checkPolicy(o *v1alpha1.GuardrailPolicy) []violation {
	errs := w.engine.CheckPolicy(o)
	out := make([]violation, 0, len(errs))
	for _, e := range errs {
		if e.Policy == "" {
			e.Policy = o.Name
		}
		out = append(out, compileErrorViolation(e))
	}
	return out
}

// keys reports each unknown key of a list once, at its first index, with
// the nearest known keys.
func (w *Webhooks) keys(kind taxonomy.Kind, field string, keys []v1alpha1.TaxonomyKey) []violation {
	if len(keys) == 0 {
		return nil
	}
	plain := make([]string, len(keys))
	for i, k := range keys {
		plain[i] = string(k)
	}
	err := w.taxonomy.Validate(kind, plain)
	if err == nil {
		return nil
	}
	var out []violation
	for _, uk := range unknownKeys(err) {
		at := field
		for i, k := range plain {
			if k == uk.Key {
				at = fmt.Sprintf("%s[%d]", field, i)
				break
			}
		}
		out = append(out, violation{line: line(CheckTaxonomy, at, uk.Error(), ""), field: at, cause: uk.Error()})
	}
	return out
}

func (w *Webhooks) key(kind taxonomy.Kind, field string, key v1alpha1.TaxonomyKey) []violation {
	err := w.taxonomy.Validate(kind, []string{string(key)})
	var out []violation
	for _, uk := range unknownKeys(err) {
		out = append(out, violation{line: line(CheckTaxonomy, field, uk.Error(), ""), field: field, cause: uk.Error()})
	}
	return out
}

// unknownKeys unpacks the errors taxonomy.Validate joins.
func unknownKeys(err error) []*taxonomy.UnknownKeyError {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
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
