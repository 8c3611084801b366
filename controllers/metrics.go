package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Metrics are the operator's gauges on the manager's metrics endpoint.
type Metrics struct {
	workloads    *prometheus.GaugeVec
	integrations *prometheus.GaugeVec
}

// NewMetrics registers guardrails_workloads{phase} and
// guardrails_integrations{vendor_status} with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		workloads: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "guardrails_workloads", Help: "MarketingWorkloads by phase.",
		}, []string{"phase"}),
		integrations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "guardrails_integrations", Help: "SaaSIntegrations by the status of their vendor.",
		}, []string{"vendor_status"}),
	}
	if reg != nil {
		reg.MustRegister(m.workloads, m.integrations)
	}
	return m
}

// observeWorkloads recounts workloads by phase from the cache.
func (m *Metrics) observeWorkloads(ctx context.Context, c client.Reader) {
	if m == nil {
		return
	}
	var list v1alpha1.MarketingWorkloadList
	if err := c.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "counting workloads")
		return
	}
	counts := map[string]float64{}
	for _, p := range []v1alpha1.WorkloadPhase{v1alpha1.PhaseScheduled, v1alpha1.PhaseActive, v1alpha1.PhaseEnded, v1alpha1.PhaseArchived, v1alpha1.PhaseBlocked} {
		counts[string(p)] = 0
	}
	for i := range list.Items {
		if p := list.Items[i].Status.Phase; p != "" {
			counts[string(p)]++
		}
	}
	for p, n := range counts {
		m.workloads.WithLabelValues(p).Set(n)
	}
}

// observeIntegrations recounts integrations by vendor status from the cache.
func (m *Metrics) observeIntegrations(ctx context.Context, c client.Reader) {
	if m == nil {
		return
	}
	var list v1alpha1.SaaSIntegrationList
	if err := c.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "counting integrations")
		return
	}
	counts := map[string]float64{"approved": 0, "restricted": 0, "prohibited": 0, "unknown": 0}
	for i := range list.Items {
		if s := list.Items[i].Status.VendorStatus; s != "" {
			counts[s]++
		}
	}
	for s, n := range counts {
		m.integrations.WithLabelValues(s).Set(n)
	}
}
