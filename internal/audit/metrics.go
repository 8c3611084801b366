package audit

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/martech-guardrails/guardrails/internal/policy"
)

// metrics are the audit's Prometheus collectors, in the style of
// Gatekeeper's audit metrics. A nil *metrics records nothing.
type metrics struct {
	violations   *prometheus.GaugeVec
	duration     prometheus.Histogram
	lastRun      prometheus.Gauge
	reportWrites *prometheus.CounterVec
	rejudges     prometheus.Counter
	reportsOn    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "guardrails_violations",
			Help: "Policy results in force (not waived, not pass) found by the latest audit, by namespace (empty for cluster-scoped objects), policy, severity and enforcement.",
		}, []string{"namespace", "policy", "severity", "enforcement"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "guardrails_audit_duration_seconds",
			Help:    "Time of one audit pass: listing from the cache, evaluating, writing statuses and reports.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "guardrails_audit_last_run_timestamp_seconds",
			Help: "When the latest audit pass ended (Unix time).",
		}),
		reportWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guardrails_report_writes_total",
			Help: "Writes of report resources by the audit, by kind (Report, ClusterReport, PolicyReport, ClusterPolicyReport) and operation (create, update, delete). An unchanged cluster costs none.",
		}, []string{"kind", "operation"}),
		rejudges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "guardrails_audit_rejudge_requests_total",
			Help: "Objects the audit handed back to their reconcilers to judge again, because their status recorded another verdict than the audit's (a change by time or policy alone). The reconcilers write status; the audit writes none.",
		}),
		reportsOn: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "guardrails_audit_reports_enabled",
			Help: "1 when the audit writes report resources, 0 when they are off (--report-api=none, or the report CRD is not installed).",
		}),
	}
	var err error
	if m.violations, err = policy.RegisterCollector(reg, m.violations); err != nil {
		return nil, err
	}
	if m.duration, err = policy.RegisterCollector(reg, m.duration); err != nil {
		return nil, err
	}
	if m.lastRun, err = policy.RegisterCollector(reg, m.lastRun); err != nil {
		return nil, err
	}
	if m.reportWrites, err = policy.RegisterCollector(reg, m.reportWrites); err != nil {
		return nil, err
	}
	if m.rejudges, err = policy.RegisterCollector(reg, m.rejudges); err != nil {
		return nil, err
	}
	if m.reportsOn, err = policy.RegisterCollector(reg, m.reportsOn); err != nil {
		return nil, err
	}
	return m, nil
}

// violationKey is one series of guardrails_violations.
type violationKey struct{ namespace, policy, severity, enforcement string }

func (m *metrics) pass(took time.Duration, end time.Time, counts map[string]map[violationKey]int) {
	if m == nil {
		return
	}
	m.duration.Observe(took.Seconds())
	m.lastRun.Set(float64(end.Unix()))
	m.violations.Reset()
	for _, byKey := range counts {
		for k, n := range byKey {
			m.violations.WithLabelValues(k.namespace, k.policy, k.severity, k.enforcement).Set(float64(n))
		}
	}
}

func (m *metrics) reportWrite(kind, op string) {
	if m != nil {
		m.reportWrites.WithLabelValues(kind, op).Inc()
	}
}

func (m *metrics) rejudged() {
	if m != nil {
		m.rejudges.Inc()
	}
}

func (m *metrics) reports(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.reportsOn.Set(v)
}
