package corpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Views is the size of the corpus of the views' benchmark (WriteViews):
// the portfolio of a large organisation, 2,000 Vendors, 20,000
// SaaSIntegrations and 10,000 MarketingWorkloads at scale 1.
type Views struct {
	Vendors, Integrations, Workloads int
}

// ViewsAt is the views corpus at scale times its base size.
func ViewsAt(scale int) Views {
	return Views{Vendors: 2000 * scale, Integrations: 20000 * scale, Workloads: 10000 * scale}
}

var viewCategories = []string{"crm", "email", "analytics", "cdp", "advertising", "cms", "personalization", "social", "other"}

// viewKinds are, by vendor category, the data use and categories its
// integrations send (and the vendor allows).
var viewKinds = map[string]struct {
	use        string
	categories []string
}{
	"crm":             {"marketing.communications.email", []string{"user.contact.email", "user.name"}},
	"email":           {"marketing.communications.email", []string{"user.contact.email"}},
	"analytics":       {"analytics.reporting.campaign_insights", []string{"user.behavior.browsing_history", "user.device.cookie_id"}},
	"cdp":             {"personalize.content", []string{"user.behavior.purchase_history", "user.unique_id.pseudonymous"}},
	"advertising":     {"marketing.advertising.third_party.targeted", []string{"user.device.cookie_id"}},
	"cms":             {"essential.service", []string{"system.operations"}},
	"personalization": {"personalize.content", []string{"user.behavior.browsing_history"}},
	"social":          {"marketing.advertising", []string{"user.device.cookie_id"}},
	"other":           {"analytics", []string{"user.behavior"}},
}

// WriteViews writes dir/catalogue (the sample PlatformStandard, the
// Namespaces and v.Vendors Vendors, each with an owner, a contract, a DPA
// and a security review, dates spread over two years) and dir/manifests
// (v.Integrations SaaSIntegrations and v.Workloads MarketingWorkloads,
// DocsPerFile to a file). Integrations name vendors round-robin but for
// the last twentieth of the catalogue (unused vendors); workload j uses
// integrations 2j and 2j+1, in its namespace. A few vendors are
// restricted or prohibited, some integrations send a sensitive category,
// some leave the standard's regions: the views have findings to show.
func WriteViews(dir, samples string, v Views) error {
	cat := filepath.Join(dir, "catalogue")
	man := filepath.Join(dir, "manifests")
	for _, d := range []string{cat, man} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	std, err := os.ReadFile(filepath.Join(samples, "01_platformstandard.yaml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cat, "platformstandard.yaml"), std, 0o644); err != nil {
		return err
	}
	namespaces := max(1, v.Integrations/400)
	var ns bytes.Buffer
	for i := range namespaces {
		fmt.Fprintf(&ns, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    martech.guardrails.dev/managed: \"true\"\n    martech.guardrails.dev/team: %s\n",
			viewNamespace(i), teams[i%len(teams)])
	}
	if err := os.WriteFile(filepath.Join(cat, "namespaces.yaml"), ns.Bytes(), 0o644); err != nil {
		return err
	}
	if err := writeNamed(cat, "vendors", v.Vendors, DocsPerFile, writeViewVendor); err != nil {
		return err
	}
	used := max(1, v.Vendors-v.Vendors/20)
	if err := writeNamed(man, "integrations", v.Integrations, DocsPerFile, func(w *bytes.Buffer, i int) {
		writeViewIntegration(w, i, i%used, viewNamespace((i/2)%namespaces))
	}); err != nil {
		return err
	}
	return writeNamed(man, "workloads", v.Workloads, DocsPerFile, func(w *bytes.Buffer, j int) {
		writeViewWorkload(w, j, viewNamespace(j%namespaces), v.Integrations)
	})
}

// writeNamed is writeFiles with files named prefix-NNNN.yaml.
func writeNamed(dir, prefix string, n, perFile int, item func(*bytes.Buffer, int)) error {
	files := 0
	var buf bytes.Buffer
	for first := 0; first < n; first += perFile {
		buf.Reset()
		for i := first; i < min(first+perFile, n); i++ {
			item(&buf, i)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%04d.yaml", prefix, files)), buf.Bytes(), 0o644); err != nil {
			return err
		}
		files++
	}
	return nil
}

func viewNamespace(i int) string { return fmt.Sprintf("%s-mkt-%03d", teams[i%len(teams)], i) }

func viewVendorName(i int) string { return fmt.Sprintf("vendor-%05d", i) }

// viewNamed is how many vendors each named category (crm, cms, ...) has,
// whatever the size: an organisation has a handful of CRMs, and its long
// tail of tools is "other", which never overlaps. (With every category
// holding a ninth of 2,000 vendors, vendor-overlap returns a result per
// wider-used approved vendor of the category on each integration, so its
// results, and the portfolio's time, grow with vendors x integrations:
// docs/cli.md#views-at-scale.)
const viewNamed = 5

func viewVendorCategory(i int) string {
	named := len(viewCategories) - 1 // the last is "other"
	if i < named*viewNamed {
		return viewCategories[i%named]
	}
	return "other"
}

func writeViewVendor(w *bytes.Buffer, i int) {
	category := viewVendorCategory(i)
	status := "approved"
	switch {
	case i%50 == 13:
		status = "prohibited"
	case i%20 == 7:
		status = "restricted"
	}
	k := viewKinds[category]
	day := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*37)%730)
	currency := []string{"EUR", "USD", "GBP"}[i%3]
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: Vendor
metadata:
  name: %s
spec:
  displayName: Vendor %d
  category: %s
  status: %s
  domains: [vendor-%d.example.com]
  allowedDataCategories: %s
  allowedDataUses: [%s]
  processingRegions: [eu, us]
  dpa:
    signed: true
    reference: DPA-%05d
    expires: %q
  securityReview:
    completed: true
    expires: %q
  owner: {team: %s, contact: %s@acme.example}
  contract:
    reference: PROC-%05d
    annualCost: {amount: "%d.%02d", currency: %s}
    startsAt: %q
    renewsAt: %q
    noticeDays: %d
    autoRenew: %t
`, viewVendorName(i), i, category, status, i, yamlList(k.categories), k.use, i,
		day.AddDate(1, 0, 0).Format(time.RFC3339), day.AddDate(0, 6, 0).Format(time.RFC3339),
		teams[i%len(teams)], teams[i%len(teams)], i, 1000+(i*7919)%90000, i%100, currency,
		day.AddDate(-1, 0, 0).Format(time.RFC3339), day.Format(time.RFC3339), 30+(i%3)*30, i%2 == 0)
}

func writeViewIntegration(w *bytes.Buffer, i, vendor int, namespace string) {
	category := viewVendorCategory(vendor)
	k := viewKinds[category]
	cats := k.categories
	if i%50 == 13 {
		cats = append(cats[:len(cats):len(cats)], "user.financial") // sensitive, not allowed
	}
	region := "eu"
	if i%37 == 5 {
		region = "us" // outside the standard's EU-only residency
	}
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: SaaSIntegration
metadata:
  name: integration-%06d
  namespace: %s
spec:
  vendor: %s
  purpose: Campaign data %d sent to vendor %d
  dataUse: %s
  dataCategories: %s
  dataSubjects: [customer]
  region: %s
  endpoints: [api.vendor-%d.example.com]
  owner: {team: %s, contact: %s@acme.example}
  costCenter: MKT-%d
  legalBasis: %s
`, i, namespace, viewVendorName(vendor), i, vendor, k.use, yamlList(cats), region, vendor,
		teams[i%len(teams)], teams[i%len(teams)], 4000+(i%40)*10, []string{"consent", "contract", "legitimate-interests"}[i%3])
}

func writeViewWorkload(w *bytes.Buffer, j int, namespace string, integrations int) {
	app := apps[j%len(apps)]
	team := teams[j%len(teams)]
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: %s-%06d
  namespace: %s
spec:
  owner: {team: %s, contact: %s-team@acme.example}
  costCenter: MKT-%d
  image: ghcr.io/acme-marketing/%s:1.%d.%d
  replicas: %d
  port: 8080
`, app, j, namespace, team, team, 4000+(j%40)*10, app, j%10, j%7, 1+j%3)
	if j%3 != 0 {
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j%60)
		fmt.Fprintf(w, "  campaign:\n    name: %s-campaign-%d\n    startsAt: %q\n    endsAt: %q\n",
			team, j, start.Format(time.RFC3339), start.AddDate(0, 0, 30+j%50).Format(time.RFC3339))
	}
	w.WriteString("  integrations:\n")
	for _, i := range []int{2 * j, 2*j + 1} {
		if i < integrations {
			fmt.Fprintf(w, "    - name: integration-%06d\n", i)
		}
	}
}
