package policy

import (
	"slices"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/taxonomy"
)

// Setting is what a PlatformStandard's spec.policies makes of one policy.
type Setting struct {
	// Enforcement is the policy's enforcement after the standard's
	// override (spec.policies.enforcement), if any.
	Enforcement string
	// Overridden: the standard sets the enforcement.
	Overridden bool
	// Disabled: spec.policies.disabled names the policy.
	Disabled bool
}

// SettingFor is the one rule for a standard's spec.policies, used by
// Evaluate and by whoever lists policies with their effective enforcement
// (`guardrails check -o sarif`): a policy named in disabled is skipped; an
// enforcement override replaces the policy's (and each violation's own)
// enforcement; the engine's own checks (taxonomy-keys, policy-names) can be
// neither disabled nor overridden. std may be nil.
func SettingFor(std *v1alpha1.PlatformStandard, info Info) Setting {
	if std == nil {
		return Setting{Enforcement: info.Enforcement}
	}
	return settingOf(std.Spec.Policies.Disabled, std.Spec.Policies.Enforcement, info)
}

func settingOf(disabled []string, overrides map[string]v1alpha1.Enforcement, info Info) Setting {
	s := Setting{Enforcement: info.Enforcement}
	if validationPolicy(info.Name) {
		return s
	}
	s.Disabled = slices.Contains(disabled, info.Name)
	if e, ok := overrides[info.Name]; ok && validEnforcement(string(e)) {
		s.Enforcement, s.Overridden = string(e), true
	}
	return s
}

// SensitiveCategories returns the categories that lie within, or contain, a
// sensitive category of the standard (sending `user` sends
// `user.financial`): the rule of sensitive-data-dpa
// (policies/sensitive_data_dpa.rego, `related`), for the data-flow map.
func SensitiveCategories(categories, sensitive []string) []string {
	var out []string
	for _, c := range categories {
		for _, s := range sensitive {
			if taxonomy.Within(c, s) || taxonomy.Within(s, c) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
