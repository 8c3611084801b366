package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/agenda"
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

// TestAgendaFromCluster runs guardrails agenda --kubeconfig against a real
// kube-apiserver (envtest) holding the samples: the items are those of the
// files, plus the credentials' dates, which only the cluster knows (the
// Secrets' creationTimestamp, or their rotated-at annotation).
func TestAgendaFromCluster(t *testing.T) {
	kc := clientcmdapi.NewConfig()
	c := startAPIServer(t, kc, "envtest")
	kc.CurrentContext = "envtest"
	ctx := context.Background()

	// The samples, as GitOps would apply them.
	rotated := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	files := createSamples(t, c, func(o client.Object) bool {
		if s, ok := o.(*corev1.Secret); ok && s.Name == "ga-credentials" {
			s.Annotations = map[string]string{resolve.RotatedAtAnnotation: rotated.Format(time.RFC3339)}
		}
		return true
	})

	kubeconfig := writeKubeconfig(t, kc)

	fromFiles := agendaJSON(t, "-f", samples, "--within", "730d")
	fromCluster := agendaJSON(t, "--kubeconfig", kubeconfig, "--context", "envtest", "--within", "730d")

	// Every item of the files, in the same order, read from the cluster
	// (no file:line), and the credentials' items besides.
	var others, creds []agenda.Item
	for _, it := range fromCluster {
		if it.Pos != "" {
			t.Errorf("an item from the cluster has a source: %+v", it)
		}
		if it.What == agenda.WhatCredentials {
			creds = append(creds, it)
			continue
		}
		others = append(others, it)
	}
	if len(others) != len(fromFiles) {
		t.Fatalf("%d items from the cluster, %d from the files", len(others), len(fromFiles))
	}
	for i := range fromFiles {
		want := fromFiles[i]
		want.Pos = ""
		if got := others[i]; got.At != want.At || got.What != want.What || got.Kind != want.Kind || got.Namespace != want.Namespace ||
			got.Name != want.Name || got.Who != want.Who || got.Summary != want.Summary || got.Overdue != want.Overdue {
			t.Errorf("item %d from the cluster:\n%+v\nfrom the files:\n%+v", i, got, want)
		}
	}
	for _, it := range fromFiles {
		if it.What == agenda.WhatCredentials {
			t.Errorf("the samples' Secrets have no creationTimestamp, yet: %+v", it)
		}
	}

	// One credentials item per integration, at the Secret's last rotation
	// plus the standard's maxAge (2160h), exceeded by a second.
	want := map[string]bool{}
	for _, si := range manifest.Objects[*v1alpha1.SaaSIntegration](files) {
		want[si.Name] = true
	}
	if len(want) != 7 {
		t.Fatalf("the samples have %d SaaSIntegrations, want 7", len(want))
	}
	for _, it := range creds {
		if _, ok := want[it.Name]; !ok {
			t.Errorf("credentials item for %s", it.Name)
			continue
		}
		delete(want, it.Name)
		var secret metav1.PartialObjectMetadata
		secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		name := strings.Fields(it.Summary)[3] // "credentials in Secret NAME ..."
		if err := c.Get(ctx, client.ObjectKey{Namespace: it.Namespace, Name: name}, &secret); err != nil {
			t.Fatal(err)
		}
		since := secret.CreationTimestamp.Time
		if name == "ga-credentials" {
			since = rotated
		}
		if at := since.Add(2160*time.Hour + time.Second); !it.At.Equal(at) {
			t.Errorf("%s: credentials at %s, want %s", it.Name, it.At, at)
		}
	}
	if len(want) > 0 {
		t.Errorf("no credentials item for %v", want)
	}
}
