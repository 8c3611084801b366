package controllers

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/resolve"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// Options wire the controllers.
type Options struct {
	Engine *policy.Engine
	// Policies keeps the engine's GuardrailPolicies in step with the
	// cluster (the one owner of Engine.SetPolicies); pass the one the
	// webhooks use. When nil, SetupAll makes one and adds it to the manager.
	Policies *policyset.Loader
	// Clock is the time source for campaign phases and expiries; the real
	// clock when nil. Tests inject a fake one.
	Clock clock.PassiveClock
	// Registerer receives guardrails_workloads and guardrails_integrations,
	// a collector counting from the manager's cache at scrape time, and
	// the portfolio's guardrails_deadline_timestamp_seconds and
	// guardrails_vendor_annual_cost (NewPortfolioMetrics).
	Registerer prometheus.Registerer
	// Rejudge carries the objects another door (the audit) found with an
	// out-of-date verdict to their reconcilers, which judge them again and
	// write their status; pass the one the audit asks. When nil, SetupAll
	// makes one nobody asks.
	Rejudge *status.Rejudge
	// WorkloadConcurrency is how many MarketingWorkloads are reconciled at
	// once; DefaultWorkloadConcurrency when zero.
	WorkloadConcurrency int
	// PerRequestCatalogue makes each reconcile list and convert the vendor
	// catalogue (through the engine's conversion cache) instead of reading
	// the one Policies keeps converted and up to date from the Vendor
	// informer (policyset.Loader.Catalogues: a Vendor's change converts
	// that Vendor only), which the reconcilers share by default. An
	// opt-out, for comparison and as a way back (docs/policies.md, "Where
	// the catalogue lives").
	PerRequestCatalogue bool
}

// DefaultWorkloadConcurrency is the default number of MarketingWorkloads
// reconciled at once. A reconcile mostly waits on the API server (a few
// applies and a status update), so a handful in flight keeps a 2-core
// manager busy without crowding the API server.
const DefaultWorkloadConcurrency = 4

// SetupAll registers the field indexes and every controller with mgr.
func SetupAll(mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.WorkloadConcurrency <= 0 {
		opts.WorkloadConcurrency = DefaultWorkloadConcurrency
	}
	if opts.Policies == nil {
		opts.Policies = policyset.New(opts.Engine)
	} else if opts.Policies.Engine() != opts.Engine {
		return errors.New("controllers: Options.Policies loads another engine than Options.Engine")
	}
	if opts.Rejudge == nil {
		opts.Rejudge = status.NewRejudge()
	}
	if err := opts.Policies.Add(mgr); err != nil {
		return err
	}
	if err := SetupIndexes(context.Background(), mgr); err != nil {
		return err
	}
	NewMetrics(opts.Registerer, mgr.GetCache())
	NewPortfolioMetrics(opts.Registerer, mgr.GetCache())
	rejudge := opts.Rejudge.Requests
	var cats *resolve.Catalogues // nil: per request
	if !opts.PerRequestCatalogue {
		cats = opts.Policies.Catalogues() // nil for a Static loader
	}
	recorder := mgr.GetEventRecorderFor("martech-guardrails") //nolint:staticcheck // core/v1 events are what kubectl describe shows
	steps := []struct {
		name  string
		setup func() error
	}{
		{"MarketingWorkload", (&MarketingWorkloadReconciler{Client: mgr.GetClient(), Catalogues: cats, Scheme: mgr.GetScheme(), Engine: opts.Engine, PolicyChanges: opts.Policies.Changes(), Rejudge: rejudge(v1alpha1.KindMarketingWorkload), Clock: opts.Clock, Recorder: recorder, APIReader: mgr.GetAPIReader(), Concurrency: opts.WorkloadConcurrency}).setup(mgr)},
		{"SaaSIntegration", (&SaaSIntegrationReconciler{Client: mgr.GetClient(), Catalogues: cats, Engine: opts.Engine, PolicyChanges: opts.Policies.Changes(), Rejudge: rejudge(v1alpha1.KindSaaSIntegration), Clock: opts.Clock, Recorder: recorder}).setup(mgr)},
		{"Vendor", (&VendorReconciler{Client: mgr.GetClient(), Catalogues: cats, Engine: opts.Engine, PolicyChanges: opts.Policies.Changes(), Rejudge: rejudge(v1alpha1.KindVendor), Clock: opts.Clock, Recorder: recorder}).setup(mgr)},
		{"PlatformStandard", (&PlatformStandardReconciler{Client: mgr.GetClient(), Catalogues: cats, Engine: opts.Engine, PolicyChanges: opts.Policies.Changes(), Rejudge: rejudge(v1alpha1.KindPlatformStandard), Clock: opts.Clock}).setup(mgr)},
		{"GuardrailPolicy", (&GuardrailPolicyReconciler{Client: mgr.GetClient(), Catalogues: cats, Policies: opts.Policies, Rejudge: rejudge(v1alpha1.KindGuardrailPolicy), Clock: opts.Clock}).setup(mgr)},
		{"PolicyException", (&PolicyExceptionReconciler{Client: mgr.GetClient(), Catalogues: cats, Engine: opts.Engine, PolicyChanges: opts.Policies.Changes(), Rejudge: rejudge(v1alpha1.KindPolicyException), Clock: opts.Clock}).setup(mgr)},
	}
	for _, s := range steps {
		if err := s.setup(); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", s.name, err)
		}
	}
	return nil
}

type setupper interface{ SetupWithManager(ctrl.Manager) error }

func setupFunc(r setupper, mgr ctrl.Manager) func() error {
	return func() error { return r.SetupWithManager(mgr) }
}

func (r *MarketingWorkloadReconciler) setup(mgr ctrl.Manager) func() error { return setupFunc(r, mgr) }
func (r *SaaSIntegrationReconciler) setup(mgr ctrl.Manager) func() error   { return setupFunc(r, mgr) }
func (r *VendorReconciler) setup(mgr ctrl.Manager) func() error            { return setupFunc(r, mgr) }
func (r *PlatformStandardReconciler) setup(mgr ctrl.Manager) func() error  { return setupFunc(r, mgr) }
func (r *GuardrailPolicyReconciler) setup(mgr ctrl.Manager) func() error   { return setupFunc(r, mgr) }
func (r *PolicyExceptionReconciler) setup(mgr ctrl.Manager) func() error   { return setupFunc(r, mgr) }

// SetupIndexes registers the field indexes the watches use to find exactly
// the dependents of a change.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.MarketingWorkload{}, indexIntegrationNames, func(o client.Object) []string {
		mw, ok := o.(*v1alpha1.MarketingWorkload)
		if !ok {
			return nil
		}
		out := make([]string, 0, len(mw.Spec.Integrations))
		for _, ref := range mw.Spec.Integrations {
			out = append(out, ref.Name)
		}
		return out
	}); err != nil {
		return fmt.Errorf("indexing workloads by integration: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.SaaSIntegration{}, indexVendor, func(o client.Object) []string {
		si, ok := o.(*v1alpha1.SaaSIntegration)
		if !ok {
			return nil
		}
		return []string{si.Spec.Vendor}
	}); err != nil {
		return fmt.Errorf("indexing integrations by vendor: %w", err)
	}
	return nil
}
