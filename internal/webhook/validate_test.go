package webhook_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// rejectedWith asserts a Forbidden (policy) rejection whose message holds
// every line prefix given, each `policy: field: ...`.
func rejectedWith(err error, prefixes ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want Forbidden, got %v", err)
	for _, p := range prefixes {
		Expect(messageLines(err)).To(ContainElement(HavePrefix(p)), "in %q", err.Error())
	}
}

// invalidWith asserts an Invalid (malformed object) rejection.
func invalidWith(err error, substrings ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
	for _, s := range substrings {
		Expect(err.Error()).To(ContainSubstring(s))
	}
}

// messageLines splits the webhook's message into its lines, without the API
// server's `admission webhook "..." denied the request: ` prefix.
func messageLines(err error) []string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "denied the request: "); ok {
		msg = rest
	}
	return strings.Split(msg, "\n")
}

func notFound(obj client.Object) error {
	return e.client.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
}

var _ = Describe("MarketingWorkload", func() {
	It("rejects a workload that breaks policies, one line per violation with policy and field", func() {
		err := e.client.Create(ctx, workload("bad-registry", withImage("docker.io/library/nginx:latest"), withoutOwner()))
		rejectedWith(err,
			`allowed-registries: spec.image: image "docker.io/library/nginx:latest" is not from an allowed registry`,
			"ownership: spec.owner.team: the workload has no owner team (",
			"ownership: spec.owner.contact: ",
			"pinned-image-tags: spec.image: image tag \"latest\" is not pinned (Use a version tag",
		)
		Expect(messageLines(err)).To(HaveLen(4))
		Expect(apierrors.IsNotFound(notFound(workload("bad-registry")))).To(BeTrue())
	})

	It("admits a compliant workload without warnings and stores it as sent: no defaults written into it", func() {
		mw := workload("as-sent")
		sent := mw.DeepCopy()
		Expect(wc.Create(ctx, mw)).To(Succeed())
		Expect(wc.take()).To(BeEmpty())
		var got v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
		Expect(got.Spec).To(Equal(sent.Spec))
		Expect(got.Labels).To(BeEmpty())
	})

	It("keeps resources the workload sets", func() {
		mw := workload("own-resources", withResources("200m", "128Mi"))
		Expect(e.client.Create(ctx, mw)).To(Succeed())
		var got v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, client.ObjectKeyFromObject(mw), &got)).To(Succeed())
		Expect(got.Spec.Resources.Limits.Cpu().Equal(resource.MustParse("200m"))).To(BeTrue())
		Expect(got.Spec.Resources.Requests).To(BeEmpty())
	})

	It("gives the same verdict on a server-side dry run and stores nothing", func() {
		bad := workload("dry-bad", withImage("docker.io/library/nginx:latest"))
		wet := e.client.Create(ctx, bad.DeepCopy())
		dry := e.client.Create(ctx, bad.DeepCopy(), client.DryRunAll)
		rejectedWith(dry, "allowed-registries: spec.image: ")
		Expect(messageLines(dry)).To(Equal(messageLines(wet)))

		good := workload("dry-good")
		Expect(e.client.Create(ctx, good, client.DryRunAll)).To(Succeed())
		Expect(good.Spec.Resources).To(BeNil(), "the dry run returns the object as sent")
		Expect(apierrors.IsNotFound(notFound(workload("dry-good")))).To(BeTrue())
	})

	It("rejects an update that breaks a policy and leaves the object and its running children as they were", func() {
		key := types.NamespacedName{Namespace: managedNS, Name: "winter-sale-microsite"}
		var dep appsv1.Deployment
		Eventually(func() error { return e.client.Get(ctx, key, &dep) }).WithTimeout(30 * time.Second).Should(Succeed())
		runningImage := dep.Spec.Template.Spec.Containers[0].Image
		Expect(runningImage).To(Equal("ghcr.io/acme-marketing/winter-sale-site:1.4.2"))

		var mw v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, key, &mw)).To(Succeed())
		stored := mw.DeepCopy()
		// A merge patch carries no resourceVersion precondition, so the
		// controller's concurrent status writes cannot turn the webhook's
		// verdict into a conflict.
		patch := client.MergeFrom(stored)
		mw.Spec.Image = "docker.io/library/nginx:latest"
		rejectedWith(e.client.Patch(ctx, &mw, patch), "allowed-registries: spec.image: ", "pinned-image-tags: spec.image: ")

		var after v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, key, &after)).To(Succeed())
		Expect(after.Generation).To(Equal(stored.Generation), "the spec was not written")
		Expect(after.Spec).To(Equal(stored.Spec))
		Consistently(func() string {
			Expect(e.client.Get(ctx, key, &dep)).To(Succeed())
			return dep.Spec.Template.Spec.Containers[0].Image
		}).WithTimeout(2 * time.Second).Should(Equal(runningImage))
	})

	It("judges spec and label changes only: other metadata updates of a non-compliant object pass, and the operator is never judged", func() {
		bad := workload("legacy", withImage("docker.io/library/legacy:1.0.0"))
		Expect(e.managerClient.Create(ctx, bad)).To(Succeed(), "the operator's own requests are not judged")

		annotation := []byte(`{"metadata":{"annotations":{"reviewed":"yes"}}}`)
		Expect(e.client.Patch(ctx, bad, client.RawPatch(types.MergePatchType, annotation))).To(Succeed(), "an annotation change does not re-judge the spec")
		label := []byte(`{"metadata":{"labels":{"reviewed":"yes"}}}`)
		rejectedWith(e.client.Patch(ctx, bad, client.RawPatch(types.MergePatchType, label)), "allowed-registries: spec.image: ")

		image := []byte(`{"spec":{"image":"docker.io/library/legacy:1.0.1"}}`)
		rejectedWith(e.client.Patch(ctx, bad, client.RawPatch(types.MergePatchType, image)), "allowed-registries: spec.image: ")
	})

	It("rejects unknown data categories, naming the key and the nearest known key", func() {
		err := e.client.Create(ctx, workload("typo", withDataCategories("user.contact.email", "user.contact.emial")))
		invalidWith(err, `taxonomy-keys: spec.dataCategories[1]: unknown data category "user.contact.emial", did you mean user.contact.email?`)
		var status apierrors.APIStatus
		Expect(errors.As(err, &status)).To(BeTrue())
		Expect(status.Status().Details.Causes).To(ConsistOf(And(
			HaveField("Field", "spec.dataCategories[1]"),
			HaveField("Message", HavePrefix(`taxonomy-keys: unknown data category "user.contact.emial", did you mean user.contact.email?`)),
		)), "kubectl prints `field: message` for each cause")
	})
})

var _ = Describe("SaaSIntegration", func() {
	It("rejects a prohibited vendor", func() {
		err := e.client.Create(ctx, integration("tracking", withVendor("trackmax", "eu", "api.trackmax.example")))
		rejectedWith(err, `vendor-approved: spec.vendor: vendor "trackmax" (TrackMax Fingerprinting) is prohibited`)
	})

	It("rejects a data category the vendor may not receive", func() {
		err := e.client.Create(ctx, integration("health", withIntegrationCategories("user.health_and_medical")))
		rejectedWith(err, "vendor-data-categories: spec.dataCategories")
	})

	It("admits a compliant integration", func() {
		Expect(wc.Create(ctx, integration("newsletter"))).To(Succeed())
		Expect(wc.take()).To(BeEmpty())
	})

	It("returns warn-level results, and what an exception waives, as warnings", func() {
		pex := exception("adnexus-trial", suiteStart.Add(30*24*time.Hour), []string{"data-residency"}, v1alpha1.KindSaaSIntegration, "adnexus-trial")
		Expect(e.client.Create(ctx, pex)).To(Succeed())
		// The webhook reads exceptions from the manager's cache.
		Eventually(func() error {
			return e.mgr.Cache.Get(ctx, client.ObjectKeyFromObject(pex), &v1alpha1.PolicyException{})
		}).Should(Succeed())
		si := integration("adnexus-trial", withVendor("adnexus", "us", "pixel.adnexus.example"),
			withDataUse("marketing.advertising.third_party.targeted"), withIntegrationCategories("user.device.cookie_id"))
		si.Spec.Credentials = &v1alpha1.Credentials{SecretName: "adnexus-credentials", Keys: []string{"PIXEL_ID"}}
		Expect(wc.Create(ctx, si)).To(Succeed())
		warnings := wc.take()
		Expect(warnings).To(ContainElement(HavePrefix(`vendor-approved: spec.vendor: vendor "adnexus" (AdNexus Retargeting) is restricted`)))
		Expect(warnings).To(ContainElement(And(HavePrefix("data-residency: spec.region: "), HaveSuffix("(waived by growth-marketing/adnexus-trial until 2026-12-31T00:00:00Z)"))))
	})

	It("rejects unknown data uses and subjects with suggestions", func() {
		si := integration("typos", withDataUse("marketing.communications.emial"))
		si.Spec.DataSubjects = []v1alpha1.TaxonomyKey{"custmer"}
		err := e.client.Create(ctx, si)
		invalidWith(err,
			`taxonomy-keys: spec.dataUse: unknown data use "marketing.communications.emial", did you mean marketing.communications.email?`,
			`taxonomy-keys: spec.dataSubjects[0]: unknown data subject "custmer", did you mean customer`)
	})
})

var _ = Describe("Vendor and PlatformStandard", func() {
	It("rejects unknown keys in a vendor's allowed data", func() {
		v := &v1alpha1.Vendor{
			ObjectMeta: metav1.ObjectMeta{Name: "mailer"},
			Spec: v1alpha1.VendorSpec{
				DisplayName: "Mailer", Category: "email", Status: v1alpha1.VendorApproved,
				AllowedDataCategories: []v1alpha1.TaxonomyKey{"user.contact.emails"},
				AllowedDataUses:       []v1alpha1.TaxonomyKey{"marketing.comunications"},
			},
		}
		invalidWith(e.client.Create(ctx, v),
			`taxonomy-keys: spec.allowedDataCategories[0]: unknown data category "user.contact.emails", did you mean user.contact.email`,
			`taxonomy-keys: spec.allowedDataUses[0]: unknown data use "marketing.comunications", did you mean marketing.communications`)
	})

	It("rejects unknown sensitive data categories in a standard", func() {
		std := &v1alpha1.PlatformStandard{
			ObjectMeta: metav1.ObjectMeta{Name: "emea"},
			Spec:       v1alpha1.PlatformStandardSpec{SensitiveDataCategories: []v1alpha1.TaxonomyKey{"user.financial", "user.helth"}},
		}
		invalidWith(e.client.Create(ctx, std), `taxonomy-keys: spec.sensitiveDataCategories[1]: unknown data category "user.helth"`)
	})
})

var _ = Describe("GuardrailPolicy", func() {
	It("rejects Rego that does not compile, with line and column", func() {
		err := e.client.Create(ctx, guardrailPolicy("broken", "package acme.broken\n\nviolation contains msg if {\n\tmsg := \n}\n"))
		invalidWith(err, "broken: spec.rego:")
		Expect(messageLines(err)[0]).To(MatchRegexp(`^broken: spec\.rego:\d+:\d+: `))
		Expect(apierrors.IsNotFound(notFound(guardrailPolicy("broken", "")))).To(BeTrue())
	})

	It("rejects refused built-ins, naming the built-in and where it is used", func() {
		rego := "package acme.phone_home\n\nviolation contains msg if {\n\tresp := http.send({\"method\": \"get\", \"url\": \"https://example.com\"})\n\tmsg := resp.body\n}\n"
		err := e.client.Create(ctx, guardrailPolicy("phone-home", rego))
		invalidWith(err, "http.send")
		Expect(messageLines(err)).To(ContainElement(MatchRegexp(`^phone-home: spec\.rego:4:\d+: .*http\.send`)))
		var status apierrors.APIStatus
		Expect(errors.As(err, &status)).To(BeTrue())
		Expect(status.Status().Details.Causes).To(ContainElement(And(
			HaveField("Field", "spec.rego"), HaveField("Message", MatchRegexp(`^4:\d+: .*http\.send`)))))
	})

	It("admits a policy that compiles, which then judges workloads", func() {
		rego := "package acme.no_beta\n\nviolation contains {\"msg\": \"beta images are not allowed\", \"field\": \"spec.image\"} if {\n\tcontains(input.object.spec.image, \"-beta\")\n}\n"
		gp := guardrailPolicy("no-beta-images", rego)
		Expect(e.client.Create(ctx, gp)).To(Succeed())
		DeferCleanup(func() { Expect(e.client.Delete(ctx, gp)).To(Succeed()) })
		Eventually(func() error {
			return e.client.Create(ctx, workload("beta", withImage("ghcr.io/acme-marketing/landing-page:2.1.0-beta")), client.DryRunAll)
		}).Should(MatchError(ContainSubstring("no-beta-images: spec.image: beta images are not allowed")))
	})
})

var _ = Describe("GuardrailPolicy targeting a kind no built-in looks at", func() {
	It("judges that kind once the policy is in force", func() {
		rego := "package acme.vendor_dpa\n\nviolation contains {\"msg\": \"the vendor has no signed DPA\", \"field\": \"spec.dpa\"} if {\n\tnot input.object.spec.dpa.signed\n}\n"
		gp := guardrailPolicy("vendor-dpa", rego)
		gp.Spec.Targets = []v1alpha1.TargetKind{v1alpha1.KindVendor}
		Expect(e.client.Create(ctx, gp)).To(Succeed())
		DeferCleanup(func() { Expect(e.client.Delete(ctx, gp)).To(Succeed()) })
		v := &v1alpha1.Vendor{
			ObjectMeta: metav1.ObjectMeta{Name: "no-dpa"},
			Spec:       v1alpha1.VendorSpec{DisplayName: "No DPA", Category: "other", Status: v1alpha1.VendorApproved},
		}
		Eventually(func() error { return e.client.Create(ctx, v.DeepCopy(), client.DryRunAll) }).
			Should(MatchError(ContainSubstring("vendor-dpa: spec.dpa: the vendor has no signed DPA")))
	})
})

var _ = Describe("PolicyException", func() {
	It("rejects an exception naming a policy that does not exist", func() {
		pex := exception("typo", suiteStart.Add(24*time.Hour), []string{"workload-limit"}, v1alpha1.KindMarketingWorkload, "server-side-tags")
		rejectedWith(e.client.Create(ctx, pex),
			`exception-cap: spec.policies[0]: policy "workload-limit" named in the exception does not exist (Did you mean "workload-limits"?`)
	})

	It("rejects an exception that outlives the standard's cap, saying what the cap is", func() {
		pex := exception("forever", suiteStart.Add(200*24*time.Hour), []string{"workload-limits"}, v1alpha1.KindMarketingWorkload, "server-side-tags")
		err := e.client.Create(ctx, pex)
		rejectedWith(err, "exception-cap: spec.expiresAt: the exception expires 2027-06-19T00:00:00Z, 200 days from now; exceptions may last at most 90 days")
		Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("Set spec.expiresAt to %s or earlier", suiteStart.Add(90*24*time.Hour).Format(time.RFC3339))))
	})
})

var _ = Describe("Managed-namespace guard", func() {
	It("denies a raw Deployment in a managed namespace", func() {
		err := e.client.Create(ctx, rawDeployment(managedNS, "raw-web"))
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsForbidden(err)).To(BeTrue())
		Expect(err.Error()).To(ContainSubstring(`unmanaged-workload: metadata.ownerReferences: Deployment "raw-web" is not owned by a MarketingWorkload, and namespace "growth-marketing" is managed by PlatformStandard "default" (Declare a MarketingWorkload instead`))
	})

	It("denies a raw Service in a managed namespace", func() {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "raw-svc", Namespace: managedNS},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"app": "x"}},
		}
		Expect(apierrors.IsForbidden(e.client.Create(ctx, svc))).To(BeTrue())
	})

	It("allows raw Deployments in namespaces that are not managed", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "platform-tools"}}
		Expect(e.client.Create(ctx, ns)).To(Succeed())
		Expect(e.client.Create(ctx, rawDeployment("platform-tools", "raw-web"))).To(Succeed())
	})

	It("allows a Deployment a MarketingWorkload owns, and the operator's own children", func() {
		var mw v1alpha1.MarketingWorkload
		Expect(e.client.Get(ctx, types.NamespacedName{Namespace: managedNS, Name: "server-side-tags"}, &mw)).To(Succeed())
		dep := rawDeployment(managedNS, "sidecar-web")
		dep.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload,
			Name: mw.Name, UID: mw.UID, Controller: ptr.To(true),
		}}
		Expect(e.client.Create(ctx, dep)).To(Succeed())
		Eventually(func() error {
			return e.client.Get(ctx, types.NamespacedName{Namespace: managedNS, Name: "server-side-tags"}, &appsv1.Deployment{})
		}).WithTimeout(30*time.Second).Should(Succeed(), "the operator provisions its workloads in the managed namespace")
	})

	It("denies a Deployment that claims a MarketingWorkload that does not exist", func() {
		dep := rawDeployment(managedNS, "impostor")
		dep.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindMarketingWorkload,
			Name: "ghost", UID: "0b8f4c9e-0000-4000-8000-000000000000", Controller: ptr.To(true),
		}}
		err := e.client.Create(ctx, dep)
		Expect(apierrors.IsForbidden(err)).To(BeTrue())
		Expect(err.Error()).To(ContainSubstring(`names MarketingWorkload "ghost" as its controller, but no such MarketingWorkload exists`))
	})
})
