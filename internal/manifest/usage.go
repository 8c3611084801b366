package manifest

import (
	"context"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// The World keeps the vendor usage of its SaaSIntegrations itself, made
// once: the resolver would otherwise list (and copy) every integration for
// each request, which makes a check quadratic in its inputs.
var (
	_ resolve.UsageReader     = (*World)(nil)
	_ resolve.CatalogueReader = (*World)(nil)
)

// VendorUsage implements resolve.UsageReader: every SaaSIntegration among
// the inputs (or read from the cluster), by vendor.
func (w *World) VendorUsage(context.Context) (*policy.Usage, error) { return w.usage() }

func (w *World) vendorUsage() (*policy.Usage, error) {
	items := w.byKind[v1alpha1.KindSaaSIntegration]
	sis := make([]*v1alpha1.SaaSIntegration, 0, len(items))
	for _, it := range items {
		if si, ok := it.Object.(*v1alpha1.SaaSIntegration); ok {
			sis = append(sis, si)
		}
	}
	return policy.NewUsage(sis), nil
}

// Catalogue returns the Vendors of the inputs converted for the engine,
// once per World (resolve.CatalogueReader): every request of a run shares
// it, so judging one object costs the same with 50 vendors as with 2,000.
func (w *World) Catalogue(context.Context) (*policy.Catalogue, error) { return w.catalogue() }

func (w *World) vendorCatalogue() (*policy.Catalogue, error) {
	items := w.byKind[v1alpha1.KindVendor]
	vendors := make(map[string]*v1alpha1.Vendor, len(items))
	for _, it := range items {
		if v, ok := it.Object.(*v1alpha1.Vendor); ok {
			vendors[v.Name] = v
		}
	}
	return policy.NewCatalogue(vendors)
}
