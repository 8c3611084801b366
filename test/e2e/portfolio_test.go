//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPortfolio is the portfolio on the simulated cluster (issue 27): the
// samples' Vendors carry owners and contracts, `kubectl get vendors` shows
// when each renews, when notice is due and the next deadline, and a
// `kubectl apply` of the second CMS integration prints the vendor-overlap
// warning, with the real kubectl.
func TestPortfolio(t *testing.T) {
	s := newSuite(t)
	s.ok("apply", "-f", "config/samples/")
	// The CIO's and the DPO's pages from the live cluster, in a real
	// browser (issue 28).
	t.Run("pages in chromium", func(t *testing.T) { s.browse(t) })
	s.ok("wait", "--for=condition=Ready", "vendor/contentful", "vendor/storyblok", "vendor/optimizely", "--timeout=120s")

	// The columns, and the status they read.
	s.eventually(30*time.Second, "the vendors' deadlines in status", func() string {
		if got := s.jsonpath("", "vendor/contentful", "{.status.noticeBy}"); got != "2028-03-03T00:00:00Z" {
			return "contentful status.noticeBy = " + got
		}
		if got := s.jsonpath("", "vendor/contentful", "{.status.integrations}"); got != "2" {
			return "contentful status.integrations = " + got
		}
		return ""
	})
	out := s.ok("get", "vendors")
	t.Logf("bin/kubectl get vendors:\n%s", out)
	wantAll(t, "the header of get vendors", line(out, "NAME"), "RENEWS", "NOTICE-BY", "NEXT")
	wantAll(t, "the contentful row of get vendors", line(out, "contentful"), "approved", "cms", "2028-06-01T00:00:00Z", "2028-03-03T00:00:00Z", "notice")
	wide := s.ok("get", "vendors", "-o", "wide")
	t.Logf("bin/kubectl get vendors -o wide:\n%s", wide)
	wantAll(t, "the header of get vendors -o wide", line(wide, "NAME"), "NEXT-AT", "INTEGRATIONS", "ANNUAL-COST", "CURRENCY", "OWNER")
	wantAll(t, "the optimizely row of get vendors -o wide", line(wide, "optimizely"), "18500.00", "USD", "growth")
	if got := s.jsonpath("", "vendor/contentful", "{.status.teams}"); !strings.Contains(got, "web-platform") {
		t.Errorf("contentful status.teams = %s, want web-platform", got)
	}

	// The second CMS, applied on its own: kubectl prints the warning and
	// the integration is admitted.
	s.ok("delete", "saas/press-room", "-n", ns, "--wait")
	doc := sampleDocument(t, s.root, "config/samples/06_saasintegrations.yaml", "name: press-room")
	r := s.kubectlIn(doc, "apply", "-f", "-")
	t.Logf("bin/kubectl apply -f - (press-room):\n%s", r.out)
	if r.code != 0 {
		t.Fatalf("applying the second CMS integration exited %d:\n%s", r.code, r.out)
	}
	wantAll(t, "kubectl apply of the second CMS integration", r.out,
		"Warning: vendor-overlap: spec.vendor: the organisation already uses contentful (cms) in 2 integrations; consider it, or record why with an exception",
		"saasintegration.martech.guardrails.dev/press-room created")
	// The status says it too, and the vendor counts its user.
	s.eventually(30*time.Second, "press-room's status and storyblok's count", func() string {
		if got := s.jsonpath(ns, "saas/press-room", "{.status.violations[*].policy}"); !strings.Contains(got, "vendor-overlap") {
			return "press-room status.violations policies: " + got
		}
		// The first CMS's integrations are not told to move to the second.
		for _, name := range []string{"campaign-pages", "product-pages"} {
			if got := s.jsonpath(ns, "saas/"+name, "{.status.violations[*].policy}"); strings.Contains(got, "vendor-overlap") {
				return name + " status.violations policies: " + got
			}
		}
		if got := s.jsonpath("", "vendor/storyblok", "{.status.costCenters}"); !strings.Contains(got, "MKT-4450") {
			return "storyblok status.costCenters = " + got
		}
		return ""
	})
}

// sampleDocument returns the document of a multi-document YAML file that
// contains marker.
func sampleDocument(t *testing.T, root, file, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(d, marker) {
			return d
		}
	}
	t.Fatalf("%s has no document with %q", file, marker)
	return ""
}
