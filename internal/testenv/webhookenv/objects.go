package webhookenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// SamplesNamespace is the managed namespace of config/samples.
const SamplesNamespace = "growth-marketing"

// probeName names the dry-run probe of Toggle.Set.
const probeName = "bench-probe"

// Workload is the MarketingWorkload the create benchmarks send
// (BenchmarkCreate, bench-load): compliant, in the samples' managed
// namespace, referencing the samples' two integrations hubspot-email and
// web-analytics (so the engine judges three objects) and declaring the
// data categories they send, like the winter-sale sample.
func Workload(name string) *v1alpha1.MarketingWorkload {
	mw := BaseWorkload(name)
	mw.Spec.Integrations = []v1alpha1.IntegrationRef{{Name: "hubspot-email"}, {Name: "web-analytics"}}
	mw.Spec.DataCategories = []v1alpha1.TaxonomyKey{
		"user.contact.email", "user.name", "user.behavior.browsing_history", "user.device.cookie_id",
	}
	return mw
}

// probe is a workload our webhook rejects (the samples' standard refuses
// docker.io) and the no-op handler marks (Toggle.Set).
func probe() *v1alpha1.MarketingWorkload {
	mw := BaseWorkload(probeName)
	mw.Spec.Image = "docker.io/library/probe:1.0.0"
	return mw
}

// BaseWorkload is a compliant MarketingWorkload in the samples' namespace,
// with no integrations and no resources (the standard's defaults apply).
func BaseWorkload(name string) *v1alpha1.MarketingWorkload {
	return &v1alpha1.MarketingWorkload{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: SamplesNamespace},
		Spec: v1alpha1.MarketingWorkloadSpec{
			Owner:      v1alpha1.Owner{Team: "growth", Contact: "growth-team@acme.example"},
			CostCenter: "MKT-4100",
			Image:      "ghcr.io/acme-marketing/landing-page:2.0.1",
			Replicas:   ptr.To[int32](1),
			Port:       8080,
		},
	}
}

// ReadManifests decodes every object of the YAML files in dir, in file
// name order.
func ReadManifests(dir string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // the repository's own manifests
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var u unstructured.Unstructured
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) > 0 {
				out = append(out, &u)
			}
		}
	}
	return out, nil
}

// ApplySamples creates the objects of dir (config/samples) through the
// webhooks, as `make run` applies them: objects a later sample makes
// acceptable (an integration waived by the exception that follows it) are
// retried after the rest.
func ApplySamples(ctx context.Context, c client.Client, dir string) error {
	objs, err := ReadManifests(dir)
	if err != nil {
		return err
	}
	pending := objs
	for round := 0; len(pending) > 0; round++ {
		var failed []*unstructured.Unstructured
		var errs []error
		for _, o := range pending {
			err := c.Create(ctx, o.DeepCopy())
			if err != nil && !apierrors.IsAlreadyExists(err) {
				failed = append(failed, o)
				errs = append(errs, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err))
			}
		}
		if round == 10 {
			return errors.Join(errs...)
		}
		// An object may depend on one created just before it (an
		// integration waived by the sample exception): give the manager's
		// cache a moment to see it, as kubectl users retrying would.
		pending = failed
		if len(pending) > 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}
