// Package corpus generates the manifests the CLI benchmarks check:
// BenchmarkCheck's mix of SaaSIntegrations and MarketingWorkloads judged by
// the built-ins (Write), and the peer benchmark's MarketingWorkloads judged
// by one image-tag rule in guardrails, conftest and gator (WritePeers).
package corpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	// DocsPerFile is the number of documents in a generated file.
	DocsPerFile = 100
	// Namespaces is the number of namespaces the objects are spread over.
	Namespaces = 25
)

// Write writes dir/catalogue (the sample Vendors and PlatformStandard,
// read from samples, and the Namespaces) and dir/manifests: docs
// documents, half SaaSIntegrations and half MarketingWorkloads,
// DocsPerFile to a file. It returns the number of manifest files.
func Write(dir, samples string, docs int) (int, error) {
	cat := filepath.Join(dir, "catalogue")
	man := filepath.Join(dir, "manifests")
	for _, d := range []string{cat, man} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, err
		}
	}
	for _, f := range []string{"01_platformstandard.yaml", "02_vendors.yaml"} {
		data, err := os.ReadFile(filepath.Join(samples, f))
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(cat, f), data, 0o644); err != nil {
			return 0, err
		}
	}
	var ns strings.Builder
	for i := range Namespaces {
		fmt.Fprintf(&ns, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    martech.guardrails.dev/managed: \"true\"\n    martech.guardrails.dev/team: %s\n",
			namespace(i), teams[i%len(teams)])
	}
	if err := os.WriteFile(filepath.Join(cat, "namespaces.yaml"), []byte(ns.String()), 0o644); err != nil {
		return 0, err
	}

	pairs := docs / 2
	perFile := DocsPerFile / 2
	return writeFiles(man, pairs, perFile, func(buf *bytes.Buffer, i int) {
		writeIntegration(buf, i)
		writeWorkload(buf, i)
	})
}

// writeFiles writes n items, perFile to a file named team-batch-NNNN.yaml
// in dir, and returns the number of files.
func writeFiles(dir string, n, perFile int, item func(*bytes.Buffer, int)) (int, error) {
	files := 0
	var buf bytes.Buffer
	for first := 0; first < n; first += perFile {
		buf.Reset()
		for i := first; i < min(first+perFile, n); i++ {
			item(&buf, i)
		}
		name := filepath.Join(dir, fmt.Sprintf("team-batch-%04d.yaml", files))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return files, err
		}
		files++
	}
	return files, nil
}

var teams = []string{"growth", "brand", "lifecycle", "events", "partners"}

// benchNamespace is the namespace of namespace slot i; object i lives in
// slot i % Namespaces, so its integrations i and i-Namespaces do
// too.
func namespace(i int) string {
	return fmt.Sprintf("%s-marketing-%02d", teams[i%len(teams)], i)
}

// vendor is an integration template for a vendor of the sample
// catalogue.
type vendor struct {
	vendor, slug, dataUse, region string
	categories, subjects          []string
	endpoints, keys               []string
}

// vendors, chosen by i % 20: mostly approved vendors used as the
// catalogue allows; the restricted adnexus (warn; its US region denied by
// the EU-only standard) and the prohibited trackmax (deny).
var vendors = func() []vendor {
	hubspot := vendor{"hubspot", "email", "marketing.communications.email", "eu",
		[]string{"user.contact.email", "user.name"}, []string{"customer", "prospect"},
		[]string{"api.hubapi.com", "forms.hubspot.com"}, []string{"API_KEY"}}
	ga := vendor{"google-analytics", "analytics", "analytics.reporting.campaign_insights", "eu",
		[]string{"user.behavior.browsing_history", "user.device.cookie_id"}, []string{"customer", "anonymous_user"},
		[]string{"region1.google-analytics.com"}, []string{"MEASUREMENT_ID", "API_SECRET"}}
	segment := vendor{"segment", "cdp", "personalize.content", "eu",
		[]string{"user.behavior.purchase_history", "user.unique_id.pseudonymous"}, []string{"customer"},
		[]string{"events.eu1.segment.io"}, []string{"WRITE_KEY"}}
	adnexus := vendor{"adnexus", "retargeting", "marketing.advertising.third_party.targeted", "us",
		[]string{"user.device.cookie_id"}, []string{"customer"},
		[]string{"pixel.adnexus.example"}, []string{"PIXEL_ID"}}
	trackmax := vendor{"trackmax", "fingerprint", "marketing.advertising", "eu",
		[]string{"user.device"}, []string{"anonymous_user"},
		[]string{"collect.trackmax.example"}, []string{"TOKEN"}}
	out := make([]vendor, 0, 20)
	for range 6 {
		out = append(out, hubspot)
	}
	for range 6 {
		out = append(out, ga)
	}
	for range 6 {
		out = append(out, segment)
	}
	return append(out, adnexus, trackmax)
}()

func integrationName(i int) string {
	return fmt.Sprintf("%s-%s-%05d", vendors[i%len(vendors)].vendor, vendors[i%len(vendors)].slug, i)
}

func integrationCategories(i int) []string {
	cats := vendors[i%len(vendors)].categories
	if i%50 == 13 {
		// A sensitive category the vendor may not receive.
		cats = append(cats[:len(cats):len(cats)], "user.financial")
	}
	return cats
}

func yamlList(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }

func writeIntegration(w *bytes.Buffer, i int) {
	v := vendors[i%len(vendors)]
	region := v.region
	if i%37 == 5 {
		region = "us" // outside the standard's EU-only residency
	}
	fmt.Fprintf(w, `---
# Integration %d: %s for team %s.
apiVersion: martech.guardrails.dev/v1alpha1
kind: SaaSIntegration
metadata:
  name: %s
  namespace: %s
  labels:
    app.kubernetes.io/part-of: campaign-%d
spec:
  vendor: %s
  purpose: Campaign %d data sent to %s (%s)
  dataUse: %s
  dataCategories: %s
  dataSubjects: %s
  region: %s
  endpoints: %s
`, i, v.vendor, teams[i%len(teams)], integrationName(i), namespace(i%Namespaces), i/Namespaces,
		v.vendor, i, v.vendor, v.slug, v.dataUse, yamlList(integrationCategories(i)), yamlList(v.subjects), region, yamlList(v.endpoints))
	if i%29 != 4 { // some integrations name no credentials
		fmt.Fprintf(w, "  credentials:\n    secretName: %s-credentials\n    keys: %s\n", integrationName(i), yamlList(v.keys))
	}
}

var apps = []string{"microsite", "landing-page", "sgtm", "promo-api", "quiz", "signup-forms", "referral", "newsletter-renderer"}

func writeWorkload(w *bytes.Buffer, i int) {
	app := apps[i%len(apps)]
	name := fmt.Sprintf("%s-%05d", app, i)
	team := teams[i%len(teams)]
	refs := []int{i}
	if i >= Namespaces && i%2 == 0 {
		refs = append(refs, i-Namespaces) // same namespace slot
	}
	var cats []string
	for _, r := range refs {
		for _, c := range integrationCategories(r) {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	if i%31 == 6 && len(cats) > 1 {
		cats = cats[:1] // undeclared categories of its integrations
	}

	var image string
	switch {
	case i%25 == 3:
		image = "docker.io/library/nginx:1.27" // not an allowed registry
	case i%2 == 0:
		image = fmt.Sprintf("ghcr.io/acme-marketing/%s:%d.%d.%d", app, 1+i%3, i%10, i%7)
	default:
		image = fmt.Sprintf("registry.acme.internal/martech/%s:%d.%d.%d", app, 2+i%2, i%12, i%5)
	}
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: %s
  namespace: %s
  labels:
    app.kubernetes.io/name: %s
spec:
`, name, namespace(i%Namespaces), app)
	if i%60 != 17 { // some have no owner
		fmt.Fprintf(w, "  owner:\n    team: %s\n    contact: %s-team@acme.example\n", team, team)
	}
	fmt.Fprintf(w, "  costCenter: MKT-%d\n", 4000+(i%8)*100)
	if i%3 != 0 {
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%60) * 24 * time.Hour)
		days := 30 + i%50
		if i%30 == 11 {
			days = 200 // longer than the standard's maxDuration (90 days)
		}
		fmt.Fprintf(w, "  campaign:\n    name: %s-campaign-%d\n    startsAt: %q\n    endsAt: %q\n",
			team, i/Namespaces, start.Format(time.RFC3339), start.Add(time.Duration(days)*24*time.Hour).Format(time.RFC3339))
	}
	replicas := 1 + i%4
	if i%45 == 9 {
		replicas = 12 // above the standard's maxReplicas
	}
	fmt.Fprintf(w, "  image: %s\n  replicas: %d\n  port: %d\n", image, replicas, 8080+i%3)
	fmt.Fprintf(w, "  env:\n    - name: SITE_LOCALE\n      value: %s\n    - name: CAMPAIGN_ID\n      value: %q\n",
		[]string{"en-GB", "de-DE", "fr-FR", "nl-NL"}[i%4], fmt.Sprint(i))
	if i%4 != 1 {
		fmt.Fprintf(w, "  resources:\n    requests:\n      cpu: %dm\n      memory: %dMi\n    limits:\n      cpu: %dm\n      memory: %dMi\n",
			50+i%4*25, 64+i%3*64, 250, 256)
	}
	if i%2 == 0 {
		host := fmt.Sprintf("%s-%d.campaigns.acme.example", app, i)
		if i%35 == 4 {
			host = fmt.Sprintf("promo-%d.example.com", i) // outside the allowed host suffixes
		}
		fmt.Fprintf(w, "  exposure:\n    host: %s\n    path: /\n", host)
	}
	w.WriteString("  integrations:\n")
	for k, r := range refs {
		fmt.Fprintf(w, "    - name: %s\n      envPrefix: %s\n", integrationName(r), []string{"PRIMARY_", "SECONDARY_"}[k])
	}
	if i%40 == 7 {
		fmt.Fprintf(w, "    - name: missing-integration-%05d\n", i) // does not exist
	}
	fmt.Fprintf(w, "  dataCategories: %s\n", yamlList(cats))
}

// PeerDenied reports whether WritePeers' workload i has an image tag the
// pinned-image-tags rule denies (two in five: latest, dev, main or none).
func PeerDenied(i int) bool { return i%5 < 2 }

// WritePeers writes docs MarketingWorkloads into dir, DocsPerFile to a
// file, for the peer benchmark: the same documents are checked by
// guardrails, conftest and gator with the one pinned-image-tags rule, and
// PeerDenied(i) of them are denied. It returns the number of files.
func WritePeers(dir string, docs int) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	return writeFiles(dir, docs, DocsPerFile, writePeerWorkload)
}

func writePeerWorkload(w *bytes.Buffer, i int) {
	app := apps[i%len(apps)]
	team := teams[i%len(teams)]
	image := fmt.Sprintf("ghcr.io/acme-marketing/%s:%d.%d.%d", app, 1+i%3, i%10, i%7)
	if PeerDenied(i) {
		switch i % 4 {
		case 0:
			image = fmt.Sprintf("ghcr.io/acme-marketing/%s:latest", app)
		case 1:
			image = fmt.Sprintf("ghcr.io/acme-marketing/%s:dev", app)
		case 2:
			image = fmt.Sprintf("registry.acme.internal/martech/%s", app)
		default:
			image = fmt.Sprintf("registry.acme.internal/martech/%s:main", app)
		}
	} else if i%7 == 3 {
		image = fmt.Sprintf("ghcr.io/acme-marketing/%s@sha256:%064x", app, i)
	}
	fmt.Fprintf(w, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: %s-%05d
  namespace: %s
  labels:
    app.kubernetes.io/name: %s
spec:
  owner:
    team: %s
    contact: %s-team@acme.example
  costCenter: MKT-%d
  image: %s
  replicas: %d
  port: %d
  env:
    - name: SITE_LOCALE
      value: %s
  resources:
    requests:
      cpu: 50m
      memory: 64Mi
    limits:
      cpu: 250m
      memory: 256Mi
`, app, i, namespace(i%Namespaces), app, team, team, 4000+(i%8)*100, image, 1+i%4, 8080+i%3,
		[]string{"en-GB", "de-DE", "fr-FR", "nl-NL"}[i%4])
}
