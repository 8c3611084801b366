package controllers_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/controllers"
)

const day = 24 * time.Hour

// contractVendor is an approved vendor whose contract renews 100 days after
// t0 with 30 days' notice: the notice deadline is t0+70d, and it enters the
// default 60-day window at t0+10d. It is restricted, so that vendor-unused
// (approved vendors only) never joins in as the fake clock moves.
func contractVendor(name string, t0 time.Time) *v1alpha1.Vendor {
	renews := metav1.NewTime(t0.Add(100 * day))
	notice := int32(30)
	return &v1alpha1.Vendor{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.VendorSpec{
			DisplayName: "Contentful",
			Category:    "cms",
			Status:      v1alpha1.VendorRestricted,
			Owner:       &v1alpha1.Owner{Team: "web-platform", Contact: "web@acme.example"},
			Contract: &v1alpha1.Contract{
				Reference:  "PROC-9",
				AnnualCost: &v1alpha1.Money{Amount: "24000.00", Currency: "EUR"},
				RenewsAt:   &renews,
				NoticeDays: &notice,
				AutoRenew:  true,
			},
		},
	}
}

// deadlineEvents counts the DeadlineApproaching events of a vendor.
func deadlineEvents(ctx context.Context, g Gomega, name string) int {
	var events corev1.EventList
	g.Expect(k8sClient.List(ctx, &events)).To(Succeed())
	n := 0
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == v1alpha1.KindVendor && e.InvolvedObject.Name == name && e.Reason == controllers.EventDeadlineApproaching {
			n += int(max(e.Count, 1))
		}
	}
	return n
}

// renameVendor changes spec.displayName, which makes the reconciler run.
func renameVendor(ctx context.Context, name, display string) {
	var v v1alpha1.Vendor
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, &v)).To(Succeed())
	patch := client.MergeFrom(v.DeepCopy())
	v.Spec.DisplayName = display
	Expect(k8sClient.Patch(ctx, &v, patch)).To(Succeed())
}

var _ = Describe("the Vendor reconciler watches the portfolio's calendar", func() {
	ctx := context.Background()

	It("flips the status when the notice deadline enters its window, and announces it once", func() {
		saved := clk.Now()
		DeferCleanup(func() { clk.SetTime(saved) })
		t0 := saved.UTC().Truncate(time.Second)
		v := contractVendor("calendar-cms", t0)
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		noticeBy := t0.Add(70 * day)

		get := func(g Gomega) *v1alpha1.Vendor {
			var got v1alpha1.Vendor
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(v), &got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			return &got
		}
		By("outside the window: deadlines recorded, no finding, no event")
		Eventually(func(g Gomega) {
			got := get(g)
			g.Expect(got.Status.NoticeBy).NotTo(BeNil())
			g.Expect(got.Status.NoticeBy.Time).To(BeTemporally("==", noticeBy))
			g.Expect(got.Status.NextDeadline).NotTo(BeNil())
			g.Expect(got.Status.NextDeadline.What).To(Equal("notice"))
			g.Expect(got.Status.NextDeadline.At.Time).To(BeTemporally("==", noticeBy))
			g.Expect(got.Status.Violations).To(BeEmpty())
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(deadlineEvents(ctx, Default, v.Name)).To(Equal(0))

		By("one second after the window opened: vendor-renewal warns, one event")
		clk.SetTime(noticeBy.Add(-60*day + time.Second))
		renameVendor(ctx, v.Name, "Contentful (window)")
		Eventually(func(g Gomega) {
			got := get(g)
			g.Expect(got.Status.Violations).To(ConsistOf(And(
				HaveField("Policy", "vendor-renewal"),
				HaveField("Enforcement", "warn"),
				HaveField("Message", ContainSubstring(fmt.Sprintf("is %s, in 59 days: the contract renews automatically", noticeBy.Format(time.DateOnly)))),
			)))
			g.Expect(got.Status.Announced).To(HaveLen(1))
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) int { return deadlineEvents(ctx, g, v.Name) }).WithTimeout(10 * time.Second).Should(Equal(1))

		By("reconciled again within the same window: no second event")
		renameVendor(ctx, v.Name, "Contentful (again)")
		Eventually(func(g Gomega) string { return get(g).Spec.DisplayName }).Should(Equal("Contentful (again)"))
		Consistently(func(g Gomega) int { return deadlineEvents(ctx, g, v.Name) }).WithTimeout(3 * time.Second).Should(Equal(1))

		By("past the notice deadline: locked in for another term")
		clk.SetTime(noticeBy)
		renameVendor(ctx, v.Name, "Contentful (late)")
		Eventually(func(g Gomega) {
			got := get(g)
			g.Expect(got.Status.NextDeadline.What).To(Equal("renewal"))
			g.Expect(got.Status.Violations).To(ConsistOf(HaveField("Message", ContainSubstring("locked in for another term"))))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})

	It("requeues at the next deadline boundary, never polling", func() {
		t0 := time.Date(2027, 1, 10, 8, 30, 0, 0, time.UTC)
		own := clocktesting.NewFakeClock(t0)
		c, err := client.New(cfg, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: mgrCache}})
		Expect(err).NotTo(HaveOccurred())
		r := &controllers.VendorReconciler{Client: c, Engine: engine, Clock: own, Recorder: record.NewFakeRecorder(16)}
		v := contractVendor("requeue-cms", t0)
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(v)}
		requeue := func(g Gomega) time.Duration {
			// The manager's reconciler writes the same status with its
			// own clock: a conflict is retried.
			res, err := r.Reconcile(ctx, req)
			g.Expect(err).NotTo(HaveOccurred())
			return res.RequeueAfter
		}
		// The boundaries: the notice deadline's window opens at t0+10d, the
		// renewal's at t0+40d, the notice deadline passes at t0+70d, the
		// renewal at t0+100d.
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(10*day), "at the notice window's start, t0+10d")
		own.SetTime(t0.Add(10 * day))
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(30*day), "at the renewal window's start, t0+40d")
		own.SetTime(t0.Add(40*day - time.Second))
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(time.Second), "one second before a boundary")
		own.SetTime(t0.Add(40 * day))
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(30*day), "at the notice deadline, t0+70d")
		own.SetTime(t0.Add(70 * day))
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(30*day), "at the renewal, t0+100d")
		own.SetTime(t0.Add(100 * day))
		Eventually(requeue).WithTimeout(10*time.Second).Should(Equal(time.Duration(0)), "nothing ahead: no requeue")
	})

	It("exposes deadline and cost series that appear and disappear with the vendor", func() {
		reg := prometheus.NewPedanticRegistry()
		controllers.NewPortfolioMetrics(reg, mgrCache)
		t0 := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
		v := contractVendor("metrics-cms", t0)
		series := func(g Gomega) map[string]float64 {
			mfs, err := reg.Gather()
			g.Expect(err).NotTo(HaveOccurred())
			out := map[string]float64{}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					if labels["name"] != v.Name && labels["vendor"] != v.Name {
						continue
					}
					key := mf.GetName() + "{" + labels["what"] + labels["currency"] + "}"
					out[key] = m.GetGauge().GetValue()
				}
			}
			return out
		}
		Expect(series(Default)).To(BeEmpty())
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		Eventually(series).WithTimeout(10 * time.Second).Should(Equal(map[string]float64{
			"guardrails_deadline_timestamp_seconds{notice}":  float64(t0.Add(70 * day).Unix()),
			"guardrails_deadline_timestamp_seconds{renewal}": float64(t0.Add(100 * day).Unix()),
			"guardrails_vendor_annual_cost{EUR}":             24000,
		}))
		Expect(k8sClient.Delete(ctx, v)).To(Succeed())
		Eventually(series).WithTimeout(10 * time.Second).Should(BeEmpty())
	})

	It("records who uses the vendor and when the last integration went", func() {
		ns := "portfolio-users"
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		v := contractVendor("users-cms", clk.Now())
		Expect(k8sClient.Create(ctx, v)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		si := &v1alpha1.SaaSIntegration{
			ObjectMeta: metav1.ObjectMeta{Name: "landing-pages", Namespace: ns},
			Spec: v1alpha1.SaaSIntegrationSpec{
				Vendor: v.Name, DataUse: "essential.service",
				Owner: &v1alpha1.Owner{Team: "brand-studio"}, CostCenter: "MKT-4450",
			},
		}
		Expect(k8sClient.Create(ctx, si)).To(Succeed())
		status := func(g Gomega) v1alpha1.VendorStatusObserved {
			var got v1alpha1.Vendor
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(v), &got)).To(Succeed())
			return got.Status
		}
		Eventually(func(g Gomega) {
			s := status(g)
			g.Expect(s.Integrations).To(Equal(int32(1)))
			g.Expect(s.Teams).To(Equal([]string{"brand-studio"}))
			g.Expect(s.CostCenters).To(Equal([]string{"MKT-4450"}))
			g.Expect(s.LastUsedAt).To(BeNil())
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(k8sClient.Delete(ctx, si)).To(Succeed())
		Eventually(func(g Gomega) {
			s := status(g)
			g.Expect(s.Integrations).To(Equal(int32(0)))
			g.Expect(s.Teams).To(BeEmpty())
			g.Expect(s.LastUsedAt).NotTo(BeNil())
			g.Expect(s.LastUsedAt.Time).To(BeTemporally("==", clk.Now().UTC().Truncate(time.Second)))
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})
})

var _ = Describe("vendor-overlap in SaaSIntegration status", func() {
	ctx := context.Background()

	It("follows the integrations of the category as they come and go", func() {
		ns := "portfolio-overlap"
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		for _, name := range []string{"ov-incumbent", "ov-newcomer"} {
			v := &v1alpha1.Vendor{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				// social: a category no sample uses (the samples have two CMSes).
				Spec: v1alpha1.VendorSpec{DisplayName: name, Category: "social", Status: v1alpha1.VendorApproved,
					AllowedDataUses: []v1alpha1.TaxonomyKey{"essential.service"}},
			}
			Expect(k8sClient.Create(ctx, v)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, v))).To(Succeed()) })
		}
		integration := func(name, vendor string) *v1alpha1.SaaSIntegration {
			si := &v1alpha1.SaaSIntegration{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: vendor, DataUse: "essential.service"},
			}
			Expect(k8sClient.Create(ctx, si)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, si))).To(Succeed()) })
			return si
		}
		overlap := func(name string) func(g Gomega) bool {
			return func(g Gomega) bool {
				var si v1alpha1.SaaSIntegration
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &si)).To(Succeed())
				g.Expect(si.Status.ObservedGeneration).To(Equal(si.Generation))
				for _, v := range si.Status.Violations {
					if v.Policy == "vendor-overlap" {
						return true
					}
				}
				return false
			}
		}
		integration("site", "ov-incumbent")
		pages := integration("pages", "ov-incumbent")
		integration("newsroom", "ov-newcomer")
		Eventually(overlap("newsroom")).WithTimeout(20 * time.Second).Should(BeTrue())
		Eventually(overlap("site")).WithTimeout(20 * time.Second).Should(BeFalse())
		Consistently(overlap("site")).WithTimeout(2 * time.Second).Should(BeFalse())

		By("one incumbent integration goes: a tie, no overlap any more")
		Expect(k8sClient.Delete(ctx, pages)).To(Succeed())
		Eventually(overlap("newsroom")).WithTimeout(20 * time.Second).Should(BeFalse())
	})
})
