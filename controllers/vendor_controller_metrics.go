package controllers

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// PortfolioMetrics is a prometheus.Collector of the portfolio's calendar
// and cost, read from the manager's cache at scrape time, so that a series
// exists exactly as long as its object (one series per object and deadline
// kind, one per vendor and currency):
//
//   - guardrails_deadline_timestamp_seconds{kind, namespace, name, what}:
//     a Vendor's deadlines (notice, renewal, dpa, security-review, as
//     policy.Deadlines computes them) and a PolicyException's expiry
//     (what="expiry"), as Unix seconds.
//   - guardrails_vendor_annual_cost{vendor, currency}: a Vendor's
//     spec.contract.annualCost.
type PortfolioMetrics struct {
	reader    client.Reader
	deadlines *prometheus.Desc
	cost      *prometheus.Desc
}

// NewPortfolioMetrics returns the collector over reader (the manager's
// cache) and registers it with reg when reg is not nil.
func NewPortfolioMetrics(reg prometheus.Registerer, reader client.Reader) *PortfolioMetrics {
	m := &PortfolioMetrics{
		reader: reader,
		deadlines: prometheus.NewDesc("guardrails_deadline_timestamp_seconds",
			"When a deadline of an object falls, as Unix seconds: a Vendor's contract notice deadline, renewal, DPA and security-review expiry, a PolicyException's expiry. Read from the manager's cache at scrape time.",
			[]string{"kind", "namespace", "name", "what"}, nil),
		cost: prometheus.NewDesc("guardrails_vendor_annual_cost",
			"A Vendor's contract annual cost (spec.contract.annualCost) in its currency. Read from the manager's cache at scrape time.",
			[]string{"vendor", "currency"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *PortfolioMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.deadlines
	ch <- m.cost
}

// Collect implements prometheus.Collector. A list that fails (the cache not
// started yet) leaves its series out of the scrape and is logged.
func (m *PortfolioMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	log := logf.Log.WithName("metrics")

	var vendors v1alpha1.VendorList
	if err := m.reader.List(ctx, &vendors, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "reading vendors")
	} else {
		for i := range vendors.Items {
			v := &vendors.Items[i]
			for _, d := range policy.Deadlines(v) {
				ch <- prometheus.MustNewConstMetric(m.deadlines, prometheus.GaugeValue, float64(d.At.Unix()), v1alpha1.KindVendor, "", v.Name, d.What)
			}
			if c := v.Spec.Contract; c != nil && c.AnnualCost != nil {
				amount, err := strconv.ParseFloat(c.AnnualCost.Amount, 64)
				if err != nil {
					log.Error(err, "reading an annual cost", "vendor", v.Name)
					continue
				}
				ch <- prometheus.MustNewConstMetric(m.cost, prometheus.GaugeValue, amount, v.Name, c.AnnualCost.Currency)
			}
		}
	}

	var exceptions v1alpha1.PolicyExceptionList
	if err := m.reader.List(ctx, &exceptions, client.UnsafeDisableDeepCopy); err != nil {
		log.Error(err, "reading policy exceptions")
		return
	}
	for i := range exceptions.Items {
		pex := &exceptions.Items[i]
		if pex.Spec.ExpiresAt.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.deadlines, prometheus.GaugeValue, float64(pex.Spec.ExpiresAt.Unix()), v1alpha1.KindPolicyException, pex.Namespace, pex.Name, "expiry")
	}
}
