package v1alpha1_test

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// dateField is one date of a spec the policies compare.
type dateField struct {
	kind string
	path []string // under the object
	// lowest and highest are the extremes of the range this field accepts
	// on its own (a campaign must end after it starts).
	lowest, highest time.Time
}

func (f dateField) name() string { return strings.Join(f.path, ".") }

var lastSecond = policy.MaxTime.Add(-time.Second)

// dateFields are every date of a spec, each bounded by a CEL rule to the
// range the policies judge (internal/policy/timebounds.go).
var dateFields = []dateField{
	{v1alpha1.KindPolicyException, []string{"spec", "expiresAt"}, policy.MinTime, lastSecond},
	{v1alpha1.KindMarketingWorkload, []string{"spec", "campaign", "startsAt"}, policy.MinTime, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	{v1alpha1.KindMarketingWorkload, []string{"spec", "campaign", "endsAt"}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), lastSecond},
	{v1alpha1.KindVendor, []string{"spec", "dpa", "expires"}, policy.MinTime, lastSecond},
	{v1alpha1.KindVendor, []string{"spec", "securityReview", "expires"}, policy.MinTime, lastSecond},
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

var _ = Describe("dates", func() {
	var ns string
	BeforeEach(func() {
		ns = createNamespace("dates")
	})

	It("accepts every date at the edges of the supported range", func() {
		for _, f := range dateFields {
			for _, at := range []time.Time{f.lowest, f.highest} {
				u := validObject(f.kind, ns, uniqueName("date"))
				mustSet(u, rfc3339(at), f.path...)
				Expect(k8sClient.Create(ctx, u)).To(Succeed(), "%s %s", f.name(), rfc3339(at))
			}
		}
	})

	It("rejects every date outside the supported range, naming the field", func() {
		for _, f := range dateFields {
			for _, at := range []string{
				"1600-01-01T00:00:00Z",
				rfc3339(policy.MinTime.Add(-time.Second)),
				rfc3339(policy.MaxTime),
				"2262-04-11T23:47:17Z", // the first second Rego's nanoseconds do not hold
				"9999-12-31T23:59:59Z",
			} {
				u := validObject(f.kind, ns, uniqueName("date"))
				mustSet(u, at, f.path...)
				err := k8sClient.Create(ctx, u)
				Expect(err).To(HaveOccurred(), "the API server accepted %s %s", f.name(), at)
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
				Expect(err.Error()).To(ContainSubstring(f.name()+": Invalid value"), "%s %s", f.name(), at)
				Expect(err.Error()).To(ContainSubstring("must be within the supported range "+policy.TimeRange), "%s %s", f.name(), at)
			}
		}
	})
})

var _ = Describe("the CRDs", func() {
	It("bound every date-time field of a spec to the supported range", func() {
		files, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		bounded := map[string]bool{}
		for _, file := range files {
			data, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			var crd apiextensionsv1.CustomResourceDefinition
			Expect(yaml.Unmarshal(data, &crd)).To(Succeed(), file)
			for _, v := range crd.Spec.Versions {
				spec, ok := v.Schema.OpenAPIV3Schema.Properties["spec"]
				if !ok {
					continue
				}
				walkDates(spec, crd.Spec.Names.Kind+".spec", func(path string, s apiextensionsv1.JSONSchemaProps) {
					ok := false
					for _, r := range s.XValidations {
						ok = ok || r.Rule == "self >= timestamp('"+rfc3339(policy.MinTime)+"') && self < timestamp('"+rfc3339(policy.MaxTime)+"')"
					}
					Expect(ok).To(BeTrue(), "%s is a date-time without the supported-range rule (see internal/policy/timebounds.go)", path)
					bounded[path] = true
				})
			}
		}
		for _, f := range dateFields {
			Expect(bounded).To(HaveKey(f.kind+"."+f.name()), "a date of the table is not a date-time of the CRDs")
		}
	})
})

// walkDates calls fn for every date-time property under s.
func walkDates(s apiextensionsv1.JSONSchemaProps, path string, fn func(string, apiextensionsv1.JSONSchemaProps)) {
	if s.Type == "string" && s.Format == "date-time" {
		fn(path, s)
	}
	for name, p := range s.Properties {
		walkDates(p, path+"."+name, fn)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walkDates(*s.Items.Schema, path+"[]", fn)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walkDates(*s.AdditionalProperties.Schema, path+".*", fn)
	}
}
