package main

import (
	"flag"
	"time"

	openreportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/martech-guardrails/guardrails/internal/audit"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/status"
)

// auditFlags configure the background audit (internal/audit).
type auditFlags struct {
	interval   time.Duration
	workers    int
	reportAPI  string
	maxResults int
}

func (f *auditFlags) bind(fs *flag.FlagSet) {
	fs.DurationVar(&f.interval, "audit-interval", audit.DefaultInterval, "How often the audit passes over everything (changes and time-bound expiries are audited when they happen, whatever this says); 0 turns the periodic pass off.")
	fs.IntVar(&f.workers, "audit-workers", 0, "Objects the audit evaluates at once (default GOMAXPROCS).")
	fs.StringVar(&f.reportAPI, "report-api", audit.ReportAPIOpenReports, "Report API the audit writes: "+audit.ReportAPIOpenReports+" (Report, ClusterReport), "+audit.ReportAPIWGPolicy+" (PolicyReport, ClusterPolicyReport) or "+audit.ReportAPINone+".")
	fs.IntVar(&f.maxResults, "report-max-results", audit.DefaultMaxResults, "Results kept per report (failures first); the summary counts every result.")
}

// addAuditScheme registers the report types the audit writes.
func addAuditScheme(s *runtime.Scheme) error { return openreportsv1alpha1.Install(s) }

// setupAudit adds the background audit to mgr (it runs in the leader).
func setupAudit(mgr ctrl.Manager, engine *policy.Engine, policies *policyset.Loader, rejudge *status.Rejudge, f auditFlags) error {
	interval := f.interval
	if interval == 0 {
		interval = -1 // the flag's 0 is "off"; audit.Options' 0 is the default
	}
	a, err := audit.New(audit.Options{
		Engine: engine, Policies: policies, Rejudge: rejudge, Interval: interval, Workers: f.workers,
		ReportAPI: f.reportAPI, MaxResults: f.maxResults, Registerer: crmetrics.Registry,
	})
	if err != nil {
		return err
	}
	return a.SetupWithManager(mgr)
}
