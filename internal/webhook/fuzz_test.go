package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policyset"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// fuzzHandlers are the validating handlers of every kind over an engine
// with the built-ins and a fake, empty cluster: the decode path, the
// engine and the rejection builder, without a server.
func fuzzHandlers(t testing.TB) map[string]http.Handler {
	scheme := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	eng, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).Build()
	w, err := New(Options{Engine: eng, Policies: policyset.Static(eng), Reader: reader})
	if err != nil {
		t.Fatal(err)
	}
	w.resolver = resolve.Resolver{Reader: reader}
	return map[string]http.Handler{
		"marketingworkloads": admission.WithValidator(scheme, &validator[*v1alpha1.MarketingWorkload]{w: w, kind: workloadKind}),
		"saasintegrations":   admission.WithValidator(scheme, &validator[*v1alpha1.SaaSIntegration]{w: w, kind: integrationKind}),
		"vendors":            admission.WithValidator(scheme, &validator[*v1alpha1.Vendor]{w: w, kind: vendorKind}),
		"platformstandards":  admission.WithValidator(scheme, &validator[*v1alpha1.PlatformStandard]{w: w, kind: standardKind}),
		"guardrailpolicies":  admission.WithValidator(scheme, &validator[*v1alpha1.GuardrailPolicy]{w: w, kind: policyKind}),
		"policyexceptions":   admission.WithValidator(scheme, &validator[*v1alpha1.PolicyException]{w: w, kind: exceptionKind}),
		"guard":              &admission.Webhook{Handler: &guard{w: w}},
	}
}

func review(resource string, obj string) []byte {
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "fuzz",
			Kind:      metav1.GroupVersionKind{Group: v1alpha1.GroupVersion.Group, Version: "v1alpha1", Kind: "MarketingWorkload"},
			Resource:  metav1.GroupVersionResource{Group: v1alpha1.GroupVersion.Group, Version: "v1alpha1", Resource: resource},
			Operation: admissionv1.Create,
			Namespace: "growth-marketing",
			Name:      "x",
			Object:    runtime.RawExtension{Raw: []byte(obj)},
		},
	}
	b, _ := json.Marshal(r)
	return b
}

// FuzzAdmissionDecode posts arbitrary AdmissionReview bodies to every
// handler: each answers (an AdmissionReview, or an HTTP error for a body it
// cannot read) and none panics.
func FuzzAdmissionDecode(f *testing.F) {
	hs := fuzzHandlers(f)
	names := []string{"marketingworkloads", "saasintegrations", "vendors", "platformstandards", "guardrailpolicies", "policyexceptions", "guard"}
	f.Add(uint8(0), review("marketingworkloads", `{"apiVersion":"martech.guardrails.dev/v1alpha1","kind":"MarketingWorkload","metadata":{"name":"x","namespace":"growth-marketing"},"spec":{"image":"nginx","dataCategories":["user.contact.emial"]}}`))
	f.Add(uint8(1), review("saasintegrations", `{"apiVersion":"martech.guardrails.dev/v1alpha1","kind":"SaaSIntegration","metadata":{"name":"x","namespace":"n"},"spec":{"vendor":"v","dataUse":"x.y","dataSubjects":["custmer"]}}`))
	f.Add(uint8(4), review("guardrailpolicies", `{"apiVersion":"martech.guardrails.dev/v1alpha1","kind":"GuardrailPolicy","metadata":{"name":"p"},"spec":{"targets":["MarketingWorkload"],"enforcement":"deny","severity":"low","rego":"package a\nviolation contains 1 if true"}}`))
	f.Add(uint8(6), review("deployments", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"n","ownerReferences":[{"apiVersion":"martech.guardrails.dev/v1alpha1","kind":"MarketingWorkload","name":"w","uid":"u","controller":true}]}}`))
	f.Add(uint8(2), []byte(`{"request":{"uid":"1","object":{"kind":"Vendor","spec":{"allowedDataCategories":[1,2,{"a":null}]}}}}`))
	f.Add(uint8(3), []byte(`{"request":null}`))
	f.Add(uint8(5), []byte(`not json`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		h := hs[names[int(which)%len(names)]]
		req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("200 without an AdmissionReview response: %v %q", err, rec.Body.String())
			}
			if !out.Response.Allowed && out.Response.Result == nil {
				t.Fatalf("a denial without a status: %q", rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "panic") {
				t.Fatalf("a panic reached the response: %q", rec.Body.String())
			}
		} else if rec.Code < 400 || rec.Code >= 600 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
