package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// readyCondition is a valid kstatus Ready condition as a controller writes it.
func readyCondition(generation int64) metav1.Condition {
	return metav1.Condition{
		Type:               v1alpha1.ConditionReady,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)),
		Reason:             "Provisioned",
		Message:            "all children applied",
	}
}

func conditionMap(c metav1.Condition) map[string]any {
	return map[string]any{
		"type":               c.Type,
		"status":             string(c.Status),
		"observedGeneration": c.ObservedGeneration,
		"lastTransitionTime": c.LastTransitionTime.UTC().Format(time.RFC3339),
		"reason":             c.Reason,
		"message":            c.Message,
	}
}

var _ = Describe("status subresource", func() {
	var ns string
	BeforeEach(func() {
		ns = createNamespace("status")
	})

	for _, kind := range allKinds {
		It(fmt.Sprintf("%s: status is written only through /status, and observedGeneration and conditions round-trip", kind), func() {
			u := validObject(kind, ns, uniqueName("status"))
			// A status sent on create is dropped; what is read back is the
			// CRD's default, "not observed yet" (kstatus: InProgress).
			mustSet(u, "on-create", "status", "conditions") // wrong type on purpose: it must not even be validated
			Expect(k8sClient.Create(ctx, u)).To(Succeed())
			Expect(u.Object).To(HaveKeyWithValue("status", Equal(map[string]any{"observedGeneration": int64(0)})))
			gen := u.GetGeneration()
			Expect(gen).To(BeEquivalentTo(1))

			By("writing status through the status subresource")
			cond := readyCondition(gen)
			mustSet(u, gen, "status", "observedGeneration")
			mustSet(u, []any{conditionMap(cond)}, "status", "conditions")
			Expect(k8sClient.Status().Update(ctx, u)).To(Succeed())

			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)).To(Succeed())
			og, found, err := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue())
			Expect(og).To(Equal(gen))
			conds, _, err := unstructured.NestedSlice(got.Object, "status", "conditions")
			Expect(err).NotTo(HaveOccurred())
			Expect(conds).To(ConsistOf(conditionMap(cond)))
			Expect(got.GetGeneration()).To(Equal(gen), "a status write must not bump the generation")

			By("updating the main resource with a changed status")
			mustSet(got, int64(42), "status", "observedGeneration")
			mustSet(got, []any{}, "status", "conditions")
			mustSet(got, "changed through the main resource", "metadata", "annotations", "test")
			Expect(k8sClient.Update(ctx, got)).To(Succeed())

			after := &unstructured.Unstructured{}
			after.SetGroupVersionKind(u.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), after)).To(Succeed())
			Expect(after.GetAnnotations()).To(HaveKeyWithValue("test", "changed through the main resource"))
			og, _, _ = unstructured.NestedInt64(after.Object, "status", "observedGeneration")
			Expect(og).To(Equal(gen), "status.observedGeneration changed through the main resource")
			conds, _, _ = unstructured.NestedSlice(after.Object, "status", "conditions")
			Expect(conds).To(ConsistOf(conditionMap(cond)), "status.conditions changed through the main resource")

			By("a spec change bumps the generation, a status write does not touch the spec")
			switch kind {
			case v1alpha1.KindVendor:
				mustSet(after, "Renamed", "spec", "displayName")
			case v1alpha1.KindSaaSIntegration, v1alpha1.KindGuardrailPolicy:
				mustSet(after, "changed", "spec", specStringField(kind))
			case v1alpha1.KindMarketingWorkload:
				mustSet(after, int64(3), "spec", "replicas")
			case v1alpha1.KindPlatformStandard:
				mustSet(after, []any{"ghcr.io/other/"}, "spec", "allowedRegistries")
			case v1alpha1.KindPolicyException:
				mustSet(after, "changed", "spec", "reason")
			}
			Expect(k8sClient.Update(ctx, after)).To(Succeed())
			Expect(after.GetGeneration()).To(Equal(gen + 1))
			specBefore := runtime.DeepCopyJSONValue(after.Object["spec"])
			mustSet(after, "ignored", "spec", "ignoredByStatus")
			mustSet(after, gen+1, "status", "observedGeneration")
			Expect(k8sClient.Status().Update(ctx, after)).To(Succeed())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)).To(Succeed())
			Expect(got.Object["spec"]).To(Equal(specBefore))
			og, _, _ = unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			Expect(og).To(Equal(gen + 1))
		})
	}

	It("MarketingWorkload: the typed status round-trips through the Go types", func() {
		mw := &v1alpha1.MarketingWorkload{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uniqueName("typed")},
			Spec: v1alpha1.MarketingWorkloadSpec{
				Image: "ghcr.io/acme-marketing/site:1.0.0",
			},
		}
		Expect(k8sClient.Create(ctx, mw)).To(Succeed())

		next := metav1.NewTime(time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC))
		mw.Status = v1alpha1.MarketingWorkloadStatus{
			CommonStatus: v1alpha1.CommonStatus{
				ObservedGeneration: mw.Generation,
				Conditions:         []metav1.Condition{readyCondition(mw.Generation)},
				Violations: []v1alpha1.Violation{{
					Policy: "ownership", Enforcement: "warn", Severity: v1alpha1.SeverityLow,
					Field: "spec.owner.team", Message: "no owner team", Remediation: "set spec.owner.team",
				}},
			},
			Phase:          v1alpha1.PhaseActive,
			Compliant:      ptr.To(true),
			URL:            "https://a.campaigns.acme.example/",
			NextTransition: &next,
			Resources:      []v1alpha1.ResourceRef{{APIVersion: "apps/v1", Kind: "Deployment", Name: mw.Name}},
		}
		want := mw.Status.DeepCopy()
		Expect(k8sClient.Status().Update(ctx, mw)).To(Succeed())

		var got v1alpha1.MarketingWorkload
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
		Expect(got.Status.ObservedGeneration).To(Equal(want.ObservedGeneration))
		Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseActive))
		Expect(got.Status.Compliant).To(HaveValue(BeTrue()))
		Expect(got.Status.URL).To(Equal(want.URL))
		Expect(got.Status.NextTransition.Equal(want.NextTransition)).To(BeTrue())
		Expect(got.Status.Violations).To(Equal(want.Violations))
		Expect(got.Status.Resources).To(Equal(want.Resources))
		ready := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		Expect(ready).NotTo(BeNil())
		Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		Expect(ready.Reason).To(Equal("Provisioned"))
		Expect(ready.ObservedGeneration).To(Equal(mw.Generation))
		Expect(ready.LastTransitionTime.Equal(&want.Conditions[0].LastTransitionTime)).To(BeTrue())

		By("rejecting an unknown phase on the status subresource")
		got.Status.Phase = "Running"
		err := k8sClient.Status().Update(ctx, &got)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("status.phase"))

		By("leaving the status alone when the main resource is updated")
		var again v1alpha1.MarketingWorkload
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mw), &again)).To(Succeed())
		again.Status.Phase = v1alpha1.PhaseBlocked
		again.Status.URL = ""
		again.Status.Conditions = nil
		again.Spec.Replicas = ptr.To[int32](2)
		Expect(k8sClient.Update(ctx, &again)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
		Expect(got.Spec.Replicas).To(HaveValue(BeEquivalentTo(2)))
		Expect(got.Status.Phase).To(Equal(v1alpha1.PhaseActive))
		Expect(got.Status.URL).To(Equal(want.URL))
		Expect(got.Status.Conditions).To(HaveLen(1))
	})
})

// specStringField is a free-text spec field of kind, safe to change.
func specStringField(kind string) string {
	if kind == v1alpha1.KindSaaSIntegration {
		return "purpose"
	}
	return "description"
}

// table fetches one object in the Table format kubectl uses and returns its
// cells by column name.
func table(kind, resource, namespace, name string) map[string]any {
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	path := "/apis/" + v1alpha1.GroupVersion.String() + "/"
	if namespace != "" {
		path += "namespaces/" + namespace + "/"
	}
	path += resource + "/" + name
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath(path).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	Expect(err).NotTo(HaveOccurred(), "GET %s as Table", path)

	var t metav1.Table
	Expect(json.Unmarshal(raw, &t)).To(Succeed())
	Expect(t.Kind).To(Equal("Table"), "the server answered %s", string(raw))
	Expect(t.Rows).To(HaveLen(1))
	Expect(t.Rows[0].Cells).To(HaveLen(len(t.ColumnDefinitions)))
	cells := map[string]any{}
	for i, c := range t.ColumnDefinitions {
		cells[c.Name] = t.Rows[0].Cells[i]
	}
	GinkgoWriter.Printf("%s table: %v\n", kind, cells)
	return cells
}

var _ = Describe("printer columns", func() {
	var ns string
	BeforeEach(func() {
		ns = createNamespace("columns")
	})

	// create makes a valid object of kind and writes status through the
	// status subresource.
	create := func(kind string, status map[string]any) *unstructured.Unstructured {
		u := validObject(kind, ns, uniqueName(strings.ToLower(kind)))
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		u.Object["status"] = status
		Expect(k8sClient.Status().Update(ctx, u)).To(Succeed())
		return u
	}

	It("MarketingWorkload shows Phase, Compliant, URL and Ends from the object", func() {
		u := create(v1alpha1.KindMarketingWorkload, map[string]any{
			"observedGeneration": int64(1),
			"phase":              "Active",
			"compliant":          true,
			"url":                "https://winter-sale.campaigns.acme.example/",
		})
		cells := table(v1alpha1.KindMarketingWorkload, "marketingworkloads", ns, u.GetName())
		Expect(cells).To(HaveKeyWithValue("Name", u.GetName()))
		Expect(cells).To(HaveKeyWithValue("Phase", "Active"))
		Expect(cells).To(HaveKeyWithValue("Compliant", true))
		Expect(cells).To(HaveKeyWithValue("URL", "https://winter-sale.campaigns.acme.example/"))
		// A future end shows as the timestamp (a date column would print <invalid>).
		Expect(cells).To(HaveKeyWithValue("Ends", "2027-02-15T00:00:00Z"))
		Expect(cells).To(HaveKey("Age"))

		By("following a status change")
		Expect(unstructured.SetNestedField(u.Object, "Blocked", "status", "phase")).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, false, "status", "compliant")).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, "", "status", "url")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, u)).To(Succeed())
		cells = table(v1alpha1.KindMarketingWorkload, "marketingworkloads", ns, u.GetName())
		Expect(cells).To(HaveKeyWithValue("Phase", "Blocked"))
		Expect(cells).To(HaveKeyWithValue("Compliant", false))
	})

	It("SaaSIntegration shows Vendor, Vendor-Status and Compliant", func() {
		u := create(v1alpha1.KindSaaSIntegration, map[string]any{
			"vendorStatus": "restricted",
			"compliant":    false,
		})
		cells := table(v1alpha1.KindSaaSIntegration, "saasintegrations", ns, u.GetName())
		Expect(cells).To(HaveKeyWithValue("Vendor", "hubspot"))
		Expect(cells).To(HaveKeyWithValue("Vendor-Status", "restricted"))
		Expect(cells).To(HaveKeyWithValue("Compliant", false))
	})

	It("PolicyException shows Active and Expires", func() {
		u := create(v1alpha1.KindPolicyException, map[string]any{"active": true})
		cells := table(v1alpha1.KindPolicyException, "policyexceptions", ns, u.GetName())
		Expect(cells).To(HaveKeyWithValue("Active", true))
		Expect(cells).To(HaveKeyWithValue("Expires", "2027-01-31T00:00:00Z"))
	})

	It("GuardrailPolicy shows Ready from the Ready condition, with Enforcement and Severity", func() {
		u := create(v1alpha1.KindGuardrailPolicy, map[string]any{
			"compiled": true,
			"conditions": []any{
				conditionMap(metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse,
					LastTransitionTime: metav1.Now(), Reason: "Compiled", Message: "compiled"}),
				conditionMap(readyCondition(1)),
			},
		})
		cells := table(v1alpha1.KindGuardrailPolicy, "guardrailpolicies", "", u.GetName())
		Expect(cells).To(HaveKeyWithValue("Ready", "True"))
		Expect(cells).To(HaveKeyWithValue("Enforcement", "deny"))
		Expect(cells).To(HaveKeyWithValue("Severity", "medium"))
	})

	It("PlatformStandard shows Ready and Vendor shows Status, Category and DPA", func() {
		ps := create(v1alpha1.KindPlatformStandard, map[string]any{
			"conditions": []any{conditionMap(readyCondition(1))},
		})
		Expect(table(v1alpha1.KindPlatformStandard, "platformstandards", "", ps.GetName())).To(HaveKeyWithValue("Ready", "True"))

		v := create(v1alpha1.KindVendor, map[string]any{"integrations": int64(2)})
		cells := table(v1alpha1.KindVendor, "vendors", "", v.GetName())
		Expect(cells).To(HaveKeyWithValue("Status", "approved"))
		Expect(cells).To(HaveKeyWithValue("Category", "crm"))
		Expect(cells).To(HaveKeyWithValue("DPA", true))
	})

	It("are declared on every CRD as served by the API server", func() {
		want := map[string][]string{
			"marketingworkloads": {"Phase", "Compliant", "URL", "Ends", "CPU", "Memory", "Replicas", "Age"},
			"saasintegrations":   {"Vendor", "Vendor-Status", "Compliant", "Age"},
			"vendors":            {"Status", "Category", "DPA", "Renews", "Notice-By", "Next", "Next-At", "Integrations", "Annual-Cost", "Currency", "Owner", "Age"},
			"platformstandards":  {"Ready", "Age"},
			"guardrailpolicies":  {"Enforcement", "Severity", "Ready", "Age"},
			"policyexceptions":   {"Expires", "Active", "Age"},
		}
		for plural, cols := range want {
			crd, err := extClient.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, plural+"."+v1alpha1.GroupVersion.Group, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			Expect(crd.Spec.Versions).To(HaveLen(1))
			var names []string
			for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
				names = append(names, c.Name)
			}
			Expect(names).To(Equal(cols), "printer columns of %s", plural)
			for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
				// The effective values are for `kubectl get mw -o wide` only.
				wide := plural == "marketingworkloads" && (c.Name == "CPU" || c.Name == "Memory" || c.Name == "Replicas") ||
					plural == "vendors" && (c.Name == "Next-At" || c.Name == "Integrations" || c.Name == "Annual-Cost" || c.Name == "Currency" || c.Name == "Owner")
				want := int32(0)
				if wide {
					want = 1
				}
				Expect(c.Priority).To(Equal(want), "priority of column %s of %s", c.Name, plural)
			}
			Expect(crd.Spec.Names.Categories).To(ContainElement("martech"), "%s is in the martech category", plural)
		}
	})
})
