package policy

import (
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// RegionAllowed is the rule of data-residency: for every region, Go and
// Rego agree on whether the standard allows it.
func TestRegionAllowedAgreesWithDataResidency(t *testing.T) {
	e := builtinEngine(t)
	std := standard()
	allowed := AllowedRegions(std)
	if len(allowed) != 1 || allowed[0] != "eu" {
		t.Fatalf("AllowedRegions = %v", allowed)
	}
	for _, region := range []v1alpha1.Region{"eu", "EU", "Eu", "us", "eu-west", "e"} {
		d := evaluate(t, e, request(integration("crm", inRegion(region))))
		var rego bool
		for _, r := range d.Results {
			if r.Policy == "data-residency" && strings.Contains(r.Message, "is not allowed by the platform standard") {
				rego = true
			}
		}
		ok, limited := RegionAllowed(string(region), allowed)
		if !limited || ok == rego {
			t.Errorf("region %q: RegionAllowed %v (limited %v), data-residency refuses it: %v", region, ok, limited, rego)
		}
	}
	if ok, limited := RegionAllowed("mars", nil); !ok || limited {
		t.Errorf("no limit: %v %v", ok, limited)
	}
	if got := AllowedRegions(nil); got != nil {
		t.Errorf("AllowedRegions(nil) = %v", got)
	}
}
