package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Metrics is a prometheus.Collector of the operator's gauges,
// guardrails_workloads{phase} and guardrails_integrations{vendor_status},
// counted at scrape time from the manager's cache. Nothing is counted
// during a reconcile: recounting every workload after each reconcile made
// a resync of N workloads cost N² reads.
type Metrics struct {
	reader       client.Reader
	workloads    *prometheus.Desc
	integrations *prometheus.Desc
}

// scrapeTimeout bounds one scrape's reads from the cache (they wait for the
// informers to sync right after start).
const scrapeTimeout = 5 * time.Second

// workloadPhases are the phases guardrails_workloads reports, 0 included.
var workloadPhases = []v1alpha1.WorkloadPhase{v1alpha1.PhaseScheduled, v1alpha1.PhaseActive, v1alpha1.PhaseEnded, v1alpha1.PhaseArchived, v1alpha1.PhaseBlocked}

// vendorStatuses are the statuses guardrails_integrations reports, 0 included.
var vendorStatuses = []string{"approved", "restricted", "prohibited", "unknown"}

// NewMetrics returns the collector over reader (the manager's cache) and
// registers it with reg when reg is not nil.
func NewMetrics(reg prometheus.Registerer, reader client.Reader) *Metrics {
	m := &Metrics{
		reader:       reader,
		workloads:    prometheus.NewDesc("guardrails_workloads", "MarketingWorkloads by phase, counted from the manager's cache at scrape time.", []string{"phase"}, nil),
		integrations: prometheus.NewDesc("guardrails_integrations", "SaaSIntegrations by the status of their vendor, counted from the manager's cache at scrape time.", []string{"vendor_status"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.workloads
	ch <- m.integrations
}

// Collect implements prometheus.Collector. A list that fails (the cache not
// started yet) leaves that gauge out of the scrape and is logged.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	log := logf.Log.WithName("metrics")

	// The cache's own objects, not copies: only read here.
	var workloads v1alpha1.MarketingWorkloadList
	if err := m.reader.List(ctx, &workloads, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "counting workloads")
	} else {
		counts := make(map[v1alpha1.WorkloadPhase]int, len(workloadPhases))
		for i := range workloads.Items {
			counts[workloads.Items[i].Status.Phase]++
		}
		for _, p := range workloadPhases {
			ch <- prometheus.MustNewConstMetric(m.workloads, prometheus.GaugeValue, float64(counts[p]), string(p))
		}
	}

	var integrations v1alpha1.SaaSIntegrationList
	if err := m.reader.List(ctx, &integrations, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "counting integrations")
		return
	}
	counts := make(map[string]int, len(vendorStatuses))
	for i := range integrations.Items {
		counts[integrations.Items[i].Status.VendorStatus]++
	}
	for _, s := range vendorStatuses {
		ch <- prometheus.MustNewConstMetric(m.integrations, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
