package policy

import (
	"context"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuPerOp(n int, f func()) time.Duration {
	start := cpuNow()
	for range n {
		f()
	}
	return (cpuNow() - start) / time.Duration(n)
}

func TestProbeCPU(t *testing.T) {
	e, req := benchWorkloadT(t)
	ctx := context.Background()
	t.Logf("workload CPU/op %v", cpuPerOp(2000, func() { e.Evaluate(ctx, req) }))
	ireq := request(integration("newsletter"))
	t.Logf("integration CPU/op %v", cpuPerOp(2000, func() { e.Evaluate(ctx, ireq) }))
	wreq := request(workload())
	t.Logf("bare workload CPU/op %v", cpuPerOp(2000, func() { e.Evaluate(ctx, wreq) }))
}

func benchWorkloadT(t *testing.T) (*Engine, Request) {
	e := newTestEngine(t, Options{})
	setPolicies(t, e, guardrailPolicy("campaign-naming", namingPolicy))
	req := request(workload(withIntegrations("newsletter", "crm", "ads")),
		withIntegrationObjects(
			integration("newsletter"),
			integration("crm", sending("user.behavior.purchase_history")),
			integration("ads", withVendor("acme-ads")),
		))
	return e, req
}
