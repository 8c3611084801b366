package policy

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of guardrails_policy_evaluations_total.
const (
	resultPass      = "pass"      // no violation
	resultViolation = "violation" // at least one violation not waived
	resultWaived    = "waived"    // violations, every one waived
	resultError     = "error"     // the policy could not be evaluated
)

// metrics are the engine's Prometheus collectors; a nil *metrics records
// nothing.
type metrics struct {
	evaluations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	denials     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guardrails_policy_evaluations_total",
			Help: "Evaluations of one policy against one object, by outcome (pass, violation, waived, error).",
		}, []string{"policy", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "guardrails_policy_evaluation_duration_seconds",
			Help:    "Time to evaluate every policy targeting one object, by kind.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"kind"}),
		// A counter of admission requests' results, not a count of what
		// violates now: the audit's gauge guardrails_violations is that.
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guardrails_admission_denials_total",
			Help: "Violations (not waived) found in admission requests (CREATE, UPDATE, DELETE, dry runs included), by policy and enforcement.",
		}, []string{"policy", "enforcement"}),
	}
	var err error
	m.evaluations, err = RegisterCollector(reg, m.evaluations)
	if err != nil {
		return nil, err
	}
	m.duration, err = RegisterCollector(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.denials, err = RegisterCollector(reg, m.denials)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RegisterCollector registers c, or returns the identical collector
// already registered (several engines, or auditors, may share a registry).
func RegisterCollector[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// observe records the evaluation of one object for operation op.
func (m *metrics) observe(kind string, op Operation, took time.Duration, outcomes []outcome, results []Result) {
	if m == nil {
		return
	}
	admission := op == OperationCreate || op == OperationUpdate || op == OperationDelete
	m.duration.WithLabelValues(kind).Observe(took.Seconds())
	type tally struct{ open, waived int }
	counts := make(map[string]tally, len(outcomes))
	for i := range results {
		r := &results[i]
		if r.Enforcement == EnforcementError {
			continue
		}
		// A result on a rendered child counts for its policy (one series
		// per policy, not per child).
		name := OfResult(r.Policy)
		t := counts[name]
		if r.Waived() {
			t.waived++
		} else {
			t.open++
			if admission {
				m.denials.WithLabelValues(name, r.Enforcement).Inc()
			}
		}
		counts[name] = t
	}
	for _, o := range outcomes {
		result := resultPass
		switch t := counts[o.policy]; {
		case o.failed:
			result = resultError
		case t.open > 0:
			result = resultViolation
		case t.waived > 0:
			result = resultWaived
		}
		m.evaluations.WithLabelValues(o.policy, result).Inc()
	}
}
