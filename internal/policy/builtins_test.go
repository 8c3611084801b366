package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// finding is what the scenarios assert about a result.
type finding struct {
	policy, enforcement, field string
}

func (f finding) String() string { return f.policy + " " + f.enforcement + " " + f.field }

// findings returns the results no exception waives, sorted.
func findings(d *Decision) []finding {
	var out []finding
	for _, r := range d.Results {
		if !r.Waived() {
			out = append(out, finding{r.Policy, r.Enforcement, r.Field})
		}
	}
	slices.SortFunc(out, func(a, b finding) int { return strings.Compare(a.String(), b.String()) })
	return out
}

var (
	sharedEngine     *Engine
	sharedEngineErr  error
	sharedEngineOnce sync.Once
)

// builtinEngine is an engine with the embedded built-ins and no custom
// policy, shared by the tests that do not change its policies.
func builtinEngine(t testing.TB) *Engine {
	t.Helper()
	sharedEngineOnce.Do(func() { sharedEngine, sharedEngineErr = New(Options{Timeout: time.Minute}) })
	if sharedEngineErr != nil {
		t.Fatalf("New: %v", sharedEngineErr)
	}
	return sharedEngine
}

func evaluate(t testing.TB, e *Engine, req Request) *Decision {
	t.Helper()
	d, err := e.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return d
}

func describe(d *Decision) string {
	var b strings.Builder
	for _, r := range d.Results {
		fmt.Fprintf(&b, "\n  %s %s %s: %s", r.Policy, r.Enforcement, r.Field, r.Message)
		if r.Exception != nil {
			fmt.Fprintf(&b, " (waived by %s)", r.Exception)
		}
	}
	return b.String()
}

func TestBuiltins(t *testing.T) {
	e := builtinEngine(t)
	yesterday, tomorrow := testNow.Add(-day), testNow.Add(day)
	badAds := integration("ads", withVendor("shadytrack"))

	tests := []struct {
		name   string
		req    Request
		want   []finding
		denied bool
		check  func(t *testing.T, d *Decision)
	}{
		{
			name: "compliant workload with integrations",
			req: request(workload(withIntegrations("newsletter", "crm")),
				withIntegrationObjects(integration("newsletter"), integration("crm", sending("user.behavior.purchase_history")))),
		},
		{
			name: "compliant integration",
			req:  request(integration("newsletter")),
		},
		{
			name:   "image from docker.io",
			req:    request(workload(withImage("docker.io/library/nginx:1.27"))),
			want:   []finding{{"allowed-registries", "deny", "spec.image"}},
			denied: true,
		},
		{
			name:   "image without a registry is docker.io",
			req:    request(workload(withImage("nginx:1.27"))),
			want:   []finding{{"allowed-registries", "deny", "spec.image"}},
			denied: true,
		},
		{
			name:   "prohibited vendor denies",
			req:    request(integration("ads", withVendor("shadytrack"))),
			want:   []finding{{"vendor-approved", "deny", "spec.vendor"}},
			denied: true,
		},
		{
			name: "restricted vendor warns",
			req:  request(integration("ads", withVendor("acme-ads"))),
			want: []finding{{"vendor-approved", "warn", "spec.vendor"}},
		},
		{
			name:   "vendor not in the catalogue",
			req:    request(integration("ads", withVendor("nobody"))),
			want:   []finding{{"vendor-approved", "deny", "spec.vendor"}},
			denied: true,
		},
		{
			name:   "email sent to a vendor allowing only behaviour",
			req:    request(integration("newsletter"), withCatalogue(vendor("hubspot", allowingCategories("user.behavior")))),
			want:   []finding{{"vendor-data-categories", "deny", "spec.dataCategories[0]"}},
			denied: true,
		},
		{
			name:   "region us under an EU-only standard",
			req:    request(integration("newsletter", inRegion("us"))),
			want:   []finding{{"data-residency", "deny", "spec.region"}},
			denied: true,
		},
		{
			name:   "financial data with an expired DPA",
			req:    request(integration("newsletter", sending("user.contact.email", "user.financial"), withLegalBasis(v1alpha1.LegalBasisContract)), withCatalogue(vendor("hubspot", dpaExpired(days(30))))),
			want:   []finding{{"sensitive-data-dpa", "deny", "spec.dataCategories[1]"}},
			denied: true,
		},
		{
			name: "financial data without a legal basis",
			req:  request(integration("newsletter", sending("user.contact.email", "user.financial.bank_account"))),
			want: []finding{{"legal-basis", "warn", "spec.legalBasis"}},
		},
		{
			name: "secret older than the cap",
			req: request(integration("newsletter"),
				withSecret("newsletter-creds", SecretInfo{Exists: true, CreatedAt: testNow.Add(-days(120))})),
			want: []finding{{"credential-age", "warn", "spec.credentials.secretName"}},
		},
		{
			name:   "400-day campaign",
			req:    request(workload(withCampaignDays(400))),
			want:   []finding{{"campaign-window", "deny", "spec.campaign.endsAt"}},
			denied: true,
		},
		{
			name:   "host outside the allowed suffixes",
			req:    request(workload(withHost("spring.acme-promo.com"))),
			want:   []finding{{"exposure-host", "deny", "spec.exposure.host"}},
			denied: true,
		},
		{
			name:   "endpoint outside the vendor's domains",
			req:    request(integration("newsletter", withEndpoints("api.hubapi.com", "collect.tracker.io"))),
			want:   []finding{{"vendor-endpoints", "deny", "spec.endpoints[1]"}},
			denied: true,
		},
		{
			name:   "no owner",
			req:    request(workload(withoutOwner())),
			want:   []finding{{"ownership", "deny", "spec.owner.contact"}, {"ownership", "deny", "spec.owner.team"}},
			denied: true,
		},
		{
			name:   "too many replicas",
			req:    request(workload(withReplicas(12))),
			want:   []finding{{"workload-limits", "deny", "spec.replicas"}},
			denied: true,
		},
		{
			name:   "missing integration",
			req:    request(workload(withIntegrations("ghost"))),
			want:   []finding{{"integration-references", "deny", "spec.integrations[0].name"}},
			denied: true,
		},
		{
			name: "non-compliant integration is judged by the engine",
			req: request(workload(withIntegrations("newsletter", "ads")),
				withIntegrationObjects(integration("newsletter"), badAds)),
			want:   []finding{{"integration-references", "deny", "spec.integrations[1].name"}},
			denied: true,
			check: func(t *testing.T, d *Decision) {
				if msg := d.Denies()[0].Message; !strings.Contains(msg, "vendor-approved") {
					t.Errorf("message %q does not name the failing policy vendor-approved", msg)
				}
			},
		},
		{
			name: "an exception on the integration makes it compliant for the workload",
			req: request(workload(withIntegrations("ads")),
				withIntegrationObjects(badAds),
				withExceptions(exception("ads-ok", tomorrow, []string{"vendor-approved"}, target(v1alpha1.KindSaaSIntegration, "ads")))),
		},
		{
			name: "undeclared data category",
			req: request(workload(withIntegrations("newsletter"), withDataCategories("user.behavior")),
				withIntegrationObjects(integration("newsletter"))),
			want:   []finding{{"integration-references", "deny", "spec.dataCategories"}},
			denied: true,
		},
		{
			name:   "exception beyond the cap",
			req:    request(exception("long", testNow.Add(days(200)), []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))),
			want:   []finding{{"exception-cap", "deny", "spec.expiresAt"}},
			denied: true,
		},
		{
			name: "an exception cannot waive exception-cap for itself",
			req: func() Request {
				self := exception("forever", testNow.Add(days(200)), []string{"exception-cap"}, target(v1alpha1.KindPolicyException, "forever"))
				return request(self, withExceptions(self))
			}(),
			want:   []finding{{"exception-cap", "deny", "spec.expiresAt"}},
			denied: true,
			check: func(t *testing.T, d *Decision) {
				if w := d.Waived(); len(w) != 0 {
					t.Errorf("exception-cap was waived: %+v", w)
				}
			},
		},
		{
			name:   "exception naming an unknown policy",
			req:    request(exception("typo", tomorrow, []string{"allowed-registry"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))),
			want:   []finding{{"exception-cap", "deny", "spec.policies[0]"}},
			denied: true,
		},
		{
			name: "exception that expired yesterday does nothing",
			req: request(workload(withImage("nginx:1.27")),
				withExceptions(exception("old", yesterday, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale")))),
			want:   []finding{{"allowed-registries", "deny", "spec.image"}},
			denied: true,
			check: func(t *testing.T, d *Decision) {
				if w := d.Waived(); len(w) != 0 {
					t.Errorf("expired exception waived %v", w)
				}
			},
		},
		{
			name: "exception expiring tomorrow waives and is recorded",
			req: request(workload(withImage("nginx:1.27")),
				withExceptions(
					exception("other-workload", tomorrow, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "summer-sale")),
					exception("spring-image", tomorrow, []string{"allowed-registries", "ownership"}, target(v1alpha1.KindMarketingWorkload, "spring-sale")),
				)),
			check: func(t *testing.T, d *Decision) {
				w := d.Waived()
				if len(w) != 1 || w[0].Policy != "allowed-registries" || w[0].Enforcement != "deny" {
					t.Fatalf("waived = %+v, want the allowed-registries deny", w)
				}
				ref := w[0].Exception
				if ref.Namespace != testNS || ref.Name != "spring-image" || !ref.ExpiresAt.Equal(tomorrow) {
					t.Errorf("exception = %+v, want %s/spring-image until %s", ref, testNS, tomorrow)
				}
				if v := w[0].Violation(); v.Exception != testNS+"/spring-image" {
					t.Errorf("Violation().Exception = %q", v.Exception)
				}
			},
		},
		{
			name: "exception in another namespace does not apply",
			req: request(workload(withImage("nginx:1.27")),
				withExceptions(func() v1alpha1.PolicyException {
					ex := exception("elsewhere", tomorrow, []string{"allowed-registries"}, target(v1alpha1.KindMarketingWorkload, "spring-sale"))
					ex.Namespace = "other"
					return ex
				}())),
			want:   []finding{{"allowed-registries", "deny", "spec.image"}},
			denied: true,
		},
		{
			name: "standard disables a built-in",
			req:  request(workload(withImage("nginx:1.27")), withStandard(standard(disabling("allowed-registries")))),
		},
		{
			name: "standard changes a built-in's enforcement",
			req:  request(workload(withImage("nginx:1.27")), withStandard(standard(enforcing("allowed-registries", v1alpha1.EnforcementWarn)))),
			want: []finding{{"allowed-registries", "warn", "spec.image"}},
		},
		{
			name:   "standard override beats the result's own enforcement",
			req:    request(integration("ads", withVendor("acme-ads")), withStandard(standard(enforcing("vendor-approved", v1alpha1.EnforcementDeny)))),
			want:   []finding{{"vendor-approved", "deny", "spec.vendor"}},
			denied: true,
		},
		{
			name: "no standard: only what needs no standard",
			req:  request(workload(withImage("nginx:1.27"), withReplicas(50)), withStandard(nil)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := evaluate(t, e, tt.req)
			if got := findings(d); !slices.Equal(got, tt.want) {
				t.Errorf("findings = %v, want %v%s", got, tt.want, describe(d))
			}
			if d.Denied() != tt.denied {
				t.Errorf("Denied() = %v, want %v%s", d.Denied(), tt.denied, describe(d))
			}
			for _, r := range d.Results {
				if r.Message == "" || r.Title == "" || r.Severity == "" || r.Category == "" {
					t.Errorf("incomplete result %+v", r)
				}
				if r.Enforcement != EnforcementError && r.Remediation == "" {
					t.Errorf("result without remediation: %+v", r)
				}
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// TestBuiltinMetadata checks the built-ins' METADATA reached Info.
func TestBuiltinMetadata(t *testing.T) {
	want := map[string]struct {
		enforcement string
		targets     []string
	}{
		"allowed-registries":     {"deny", []string{"MarketingWorkload"}},
		"vendor-approved":        {"deny", []string{"SaaSIntegration"}},
		"vendor-data-categories": {"deny", []string{"SaaSIntegration"}},
		"vendor-data-use":        {"deny", []string{"SaaSIntegration"}},
		"data-residency":         {"deny", []string{"SaaSIntegration"}},
		"sensitive-data-dpa":     {"deny", []string{"SaaSIntegration"}},
		"legal-basis":            {"warn", []string{"SaaSIntegration"}},
		"credential-age":         {"warn", []string{"SaaSIntegration"}},
		"ownership":              {"deny", []string{"MarketingWorkload"}},
		"campaign-window":        {"deny", []string{"MarketingWorkload"}},
		"exposure-host":          {"deny", []string{"MarketingWorkload"}},
		"workload-limits":        {"deny", []string{"MarketingWorkload"}},
		"vendor-endpoints":       {"deny", []string{"SaaSIntegration"}},
		"integration-references": {"deny", []string{"MarketingWorkload"}},
		"exception-cap":          {"deny", []string{"PolicyException"}},
		"vendor-renewal":         {"warn", []string{"Vendor"}},
		"vendor-overlap":         {"warn", []string{"SaaSIntegration"}},
		"vendor-unused":          {"audit", []string{"Vendor"}},
		// The engine's own checks, in Go (validation.go).
		"taxonomy-keys": {"deny", []string{"MarketingWorkload", "PlatformStandard", "SaaSIntegration", "Vendor"}},
		"policy-names":  {"warn", []string{"PlatformStandard"}},
		// Shadow IT, in Go (unmanaged.go).
		"unmanaged-workload": {"warn", []string{"Deployment", "Ingress", "Service"}},
	}
	infos := builtinEngine(t).Policies()
	if len(infos) != len(want) {
		t.Errorf("%d policies, want %d", len(infos), len(want))
	}
	for _, p := range infos {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected policy %q", p.Name)
			continue
		}
		if !p.Builtin || p.Enforcement != w.enforcement || !slices.Equal(p.Targets, w.targets) {
			t.Errorf("%s: %+v, want enforcement %s targets %v", p.Name, p, w.enforcement, w.targets)
		}
		if p.Title == "" || p.Description == "" || p.Severity == "" || p.Category == "" {
			t.Errorf("%s: incomplete metadata %+v", p.Name, p)
		}
	}
}
