package controllers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// applySamples creates every object of config/samples/.
func applySamples(ctx context.Context) {
	files, err := filepath.Glob(filepath.Join("..", "config", "samples", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	sort.Strings(files)
	Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred(), f)
			}
			if len(u.Object) == 0 {
				continue
			}
			err := k8sClient.Create(ctx, u)
			if !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred(), "%s: %s %s", f, u.GetKind(), u.GetName())
			}
		}
	}
}

func getMW(ctx context.Context, ns, name string) func(g Gomega) *v1alpha1.MarketingWorkload {
	return func(g Gomega) *v1alpha1.MarketingWorkload {
		var mw v1alpha1.MarketingWorkload
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &mw)).To(Succeed())
		return &mw
	}
}

// phaseOf polls a workload's phase.
func phaseOf(ctx context.Context, ns, name string) func(g Gomega) v1alpha1.WorkloadPhase {
	return func(g Gomega) v1alpha1.WorkloadPhase {
		return getMW(ctx, ns, name)(g).Status.Phase
	}
}

// nudge asks for a reconcile through an annotation, as a user would after
// time has moved on (the fake clock does not wake the requeue timer).
func nudge(ctx context.Context, ns, name string) {
	var mw v1alpha1.MarketingWorkload
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &mw)).To(Succeed())
	patch := client.MergeFrom(mw.DeepCopy())
	ann := mw.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["martech.guardrails.dev/reconcile-requested-at"] = time.Now().Format(time.RFC3339Nano)
	mw.SetAnnotations(ann)
	Expect(k8sClient.Patch(ctx, &mw, patch)).To(Succeed())
}
