package resolve

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// A Secret the operator may not read is unknown, not an error: the request
// is built without it (credential-age then says nothing, as offline).
func TestUnreadableSecretIsUnknown(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	si := &v1alpha1.SaaSIntegration{
		ObjectMeta: metav1.ObjectMeta{Name: "crm", Namespace: "locked"},
		Spec:       v1alpha1.SaaSIntegrationSpec{Vendor: "hubspot", Credentials: &v1alpha1.Credentials{SecretName: "crm-creds"}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(si).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok && m.Kind == "Secret" {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, key.Name, nil)
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build()
	req, err := Resolver{Reader: c}.Request(context.Background(), si, policy.OperationAudit, time.Now())
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if _, known := req.Secrets["crm-creds"]; known {
		t.Errorf("an unreadable Secret is in the request: %+v", req.Secrets)
	}
	if _, err := (Resolver{Reader: c}).Secret(context.Background(), "locked", "crm-creds"); err == nil {
		t.Error("Secret: no error for a forbidden read")
	}
}
