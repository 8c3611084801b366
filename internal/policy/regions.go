package policy

import (
	"strings"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// AllowedRegions returns the regions std allows data to be processed in
// (spec.dataResidency.allowedRegions); nil means any region.
func AllowedRegions(std *v1alpha1.PlatformStandard) []string {
	if std == nil {
		return nil
	}
	var out []string
	for _, r := range std.Spec.DataResidency.AllowedRegions {
		if r != "" {
			out = append(out, string(r))
		}
	}
	return out
}

// RegionAllowed reports whether region is one of allowed, by the rule of
// data-residency (policies/data_residency.rego, `contains_region`: region
// codes compare case-insensitively), for the record of processing. limited
// is false when allowed is empty: the standard limits no region, so every
// region is allowed.
func RegionAllowed(region string, allowed []string) (ok, limited bool) {
	if len(allowed) == 0 {
		return true, false
	}
	for _, r := range allowed {
		if strings.ToLower(r) == strings.ToLower(region) { //nolint:staticcheck // Rego lower(), not Unicode case folding: the same verdict as data-residency
			return true, true
		}
	}
	return false, true
}
