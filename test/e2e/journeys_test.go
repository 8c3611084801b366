//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const ns = "growth-marketing"

// TestJourneys walks what each persona does, in order, on one cluster:
// journeys 1 to 9 of docs/e2e.md. Journey 10 (`make run` itself) is
// TestMakeRun. A journey that fails stops the later ones, which build on it.
func TestJourneys(t *testing.T) {
	s := newSuite(t)
	journeys := []struct {
		name string
		run  func(*suite)
	}{
		{"1 marketing engineer: happy path", journeyHappyPath},
		{"2 told no", journeyToldNo},
		{"3 warned but allowed", journeyWarned},
		{"4 platform team: policy, stricter policy, exception", journeyPlatformTeam},
		{"5 vendor falls out of favour", journeyVendorProhibited},
		{"6 campaign ends and stays archived", journeyCampaignEnds},
		{"7 GitOps: check, server-side apply, no-op", journeyGitOps},
		{"8 manager killed mid-way", journeyManagerKilled},
		{"9 API server restart", journeyAPIServerRestart},
	}
	for _, j := range journeys {
		if !t.Run(j.name, func(t *testing.T) { s.t = t; j.run(s) }) {
			s.t = t
			t.Fatalf("journey %q failed; the later ones build on it", j.name)
		}
	}
	s.t = t
	// Problem 3: a conflict is a requeue, not an error with a stack trace.
	if log := s.managerLog(); strings.Contains(log, "Reconciler error") {
		var lines []string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "Reconciler error") {
				lines = append(lines, l)
			}
		}
		t.Errorf("the manager logged %d reconciler errors:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// Journey 1: apply the samples, `kubectl wait` for Ready, Deployments
// Available on the simulated nodes, `get mw` shows Active and the URL.
func journeyHappyPath(s *suite) {
	t := s.t
	s.ok("apply", "-f", "config/samples/")
	s.ok("wait", "--for=condition=Ready", "mw/winter-sale-microsite", "mw/server-side-tags", "-n", ns, "--timeout=120s")
	s.ok("wait", "--for=condition=Available", "deploy/winter-sale-microsite", "deploy/server-side-tags", "-n", ns, "--timeout=120s")
	out := s.ok("get", "mw", "-n", ns)
	t.Logf("bin/kubectl get mw -n %s:\n%s", ns, out)
	row := line(out, "winter-sale-microsite")
	wantAll(t, "the winter-sale-microsite row of get mw", row, "Active", "true", "https://winter-sale.campaigns.acme.example/")
	wantAll(t, "the server-side-tags row of get mw", line(out, "server-side-tags"), "Active")
	// Problem 8: the Vendor's Ready message counts in good English.
	s.eventually(30*time.Second, "hubspot's Ready message", func() string {
		msg := s.jsonpath("", "vendor/hubspot", `{.status.conditions[?(@.type=="Ready")].message}`)
		if msg != "approved vendor used by 1 integration" {
			return fmt.Sprintf("%q, want %q", msg, "approved vendor used by 1 integration")
		}
		return ""
	})
}

// Journey 2: data to a vendor that may not have it, and a typo in a data
// category: kubectl exits non-zero naming the policy and field (or the key
// and a suggestion), nothing is stored, and `guardrails check` says the same.
func journeyToldNo(s *suite) {
	t := s.t
	before := admissionDenials(s, "vendor-data-categories")

	r := s.kubectl("apply", "-f", "docs/examples/wrong-vendor-data.yaml")
	if r.code == 0 {
		t.Fatalf("docs/examples/wrong-vendor-data.yaml was admitted:\n%s", r.out)
	}
	wantAll(t, "the denial", r.out, "denied the request", "vendor-data-categories: spec.dataCategories[0]:", "user.contact.email", "google-analytics")
	if g := s.kubectl("get", "saas", "analytics-emails", "-n", ns); g.code == 0 || !strings.Contains(g.out, "NotFound") {
		t.Errorf("a denied integration was stored: exit %d\n%s", g.code, g.out)
	}
	c := s.guardrails("check", "--vendors", "config/samples/02_vendors.yaml", "--standard", "config/samples/01_platformstandard.yaml", "-f", "docs/examples/wrong-vendor-data.yaml")
	if c.code != 1 {
		t.Errorf("guardrails check exited %d, want 1:\n%s", c.code, c.out)
	}
	wantAll(t, "guardrails check", c.out, "vendor-data-categories", "spec.dataCategories[0]", "user.contact.email")

	r = s.kubectl("apply", "-f", "docs/examples/typo-data-category.yaml")
	if r.code == 0 {
		t.Fatalf("docs/examples/typo-data-category.yaml was admitted:\n%s", r.out)
	}
	wantAll(t, "the denial", r.out, "user.contact.emial", "user.contact.email", "spec.dataCategories")
	if g := s.kubectl("get", "mw", "spring-teaser", "-n", ns); g.code == 0 {
		t.Errorf("a denied workload was stored:\n%s", g.out)
	}
	c = s.guardrails("check", "--vendors", "config/samples/02_vendors.yaml", "--standard", "config/samples/01_platformstandard.yaml", "-f", "docs/examples/typo-data-category.yaml")
	if c.code == 0 {
		t.Errorf("guardrails check passed the typo:\n%s", c.out)
	}
	wantAll(t, "guardrails check", c.out, "user.contact.emial", "user.contact.email")

	// Problem 5: the admission counter counts this denial, under a name
	// that says it is a counter of denials.
	if after := admissionDenials(s, "vendor-data-categories"); after < before+1 {
		t.Errorf("guardrails_admission_denials_total{policy=vendor-data-categories} went %v → %v, want +1", before, after)
	}
	metrics := scrape(s)
	if !strings.Contains(metrics, "# TYPE guardrails_admission_denials_total counter") {
		t.Errorf("no counter guardrails_admission_denials_total in /metrics")
	}
	if strings.Contains(metrics, "# TYPE guardrails_violations counter") {
		t.Errorf("guardrails_violations is still a counter: that name is the audit's gauge")
	}
}

// Journey 3: a restricted vendor's integration is admitted with a warning.
func journeyWarned(s *suite) {
	t := s.t
	r := s.kubectl("apply", "-f", "docs/examples/restricted-vendor-integration.yaml")
	if r.code != 0 {
		t.Fatalf("docs/examples/restricted-vendor-integration.yaml was refused (exit %d):\n%s", r.code, r.out)
	}
	wantAll(t, "kubectl apply", r.out, "Warning: vendor-approved: spec.vendor:", "restricted", "saasintegration.martech.guardrails.dev/retargeting-eu created")
	s.ok("delete", "-f", "docs/examples/restricted-vendor-integration.yaml")
}

// maxOneReplica is a platform team's stricter policy: the sample microsite
// (2 replicas) violates it.
const maxOneReplica = `apiVersion: martech.guardrails.dev/v1alpha1
kind: GuardrailPolicy
metadata:
  name: single-replica-pilot
spec:
  description: During the pilot, one replica per workload.
  targets: [MarketingWorkload]
  enforcement: deny
  severity: medium
  rego: |
    package acme.single_replica

    violation contains {"msg": msg, "field": "spec.replicas"} if {
    	input.object.spec.replicas > 1
    	msg := sprintf("%d replicas asked, the pilot allows 1", [input.object.spec.replicas])
    }
`

// Journey 4: a policy with a syntax error is refused with line:col; a valid
// stricter one blocks an existing workload (in its status and in the
// background audit's Report of the namespace); an exception clears it (skip
// in the report) until it expires.
func journeyPlatformTeam(s *suite) {
	t := s.t
	broken := strings.Replace(maxOneReplica, "input.object.spec.replicas > 1", "input.object.spec.replicas > 1 +", 1)
	r := s.kubectlIn(broken, "apply", "-f", "-")
	if r.code == 0 {
		t.Fatalf("a GuardrailPolicy with a syntax error was admitted:\n%s", r.out)
	}
	if !regexp.MustCompile(`spec\.rego: ?\d+:\d+`).MatchString(r.out) {
		t.Errorf("the refusal has no line:col in spec.rego:\n%s", r.out)
	}
	if g := s.kubectl("get", "gp", "single-replica-pilot"); g.code == 0 {
		t.Errorf("the broken policy was stored:\n%s", g.out)
	}

	r = s.kubectlIn(maxOneReplica, "apply", "-f", "-")
	if r.code != 0 {
		t.Fatalf("the stricter policy was refused:\n%s", r.out)
	}
	s.ok("wait", "--for=jsonpath={.status.phase}=Blocked", "mw/winter-sale-microsite", "-n", ns, "--timeout=60s")
	msg := s.jsonpath(ns, "mw/winter-sale-microsite", `{.status.conditions[?(@.type=="Ready")].message}`)
	wantAll(t, "the Blocked workload's Ready message", msg, "single-replica-pilot", "2 replicas asked")
	wantAll(t, "the Blocked workload's violations", s.jsonpath(ns, "mw/winter-sale-microsite", `{.status.violations[*].policy}`), "single-replica-pilot")
	s.reportSays("single-replica-pilot", "fail")
	// Blocked leaves what runs as it was.
	if got := s.jsonpath(ns, "deploy/winter-sale-microsite", "{.spec.replicas}"); got != "2" {
		t.Errorf("the blocked workload's Deployment has %q replicas, want 2 (left running)", got)
	}

	expires := time.Now().Add(20 * time.Second).UTC().Format(time.RFC3339)
	exception := fmt.Sprintf(`apiVersion: martech.guardrails.dev/v1alpha1
kind: PolicyException
metadata:
  name: pilot-microsite
  namespace: %s
spec:
  policies: [single-replica-pilot]
  targets:
    - kind: MarketingWorkload
      name: winter-sale-microsite
  reason: the winter sale needs two replicas
  approvedBy: it-platform@acme.example
  expiresAt: %q
`, ns, expires)
	if r := s.kubectlIn(exception, "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("the exception was refused:\n%s", r.out)
	}
	s.ok("wait", "--for=jsonpath={.status.phase}=Active", "mw/winter-sale-microsite", "-n", ns, "--timeout=30s")
	s.reportSays("single-replica-pilot", "skip")
	// When it expires, the policy applies again.
	s.ok("wait", "--for=jsonpath={.status.phase}=Blocked", "mw/winter-sale-microsite", "-n", ns, "--timeout=90s")
	s.ok("delete", "pex", "pilot-microsite", "-n", ns)
	s.ok("delete", "gp", "single-replica-pilot")
	s.ok("wait", "--for=jsonpath={.status.phase}=Active", "mw/winter-sale-microsite", "-n", ns, "--timeout=60s")
}

// reportSays waits until the audit's Report of the namespace has result
// for policy on the sample microsite, as `kubectl get report` shows it.
func (s *suite) reportSays(policy, result string) {
	expr := fmt.Sprintf(`{.results[?(@.policy==%q)].result}`, policy)
	s.eventually(30*time.Second, "the namespace's Report says "+result+" for "+policy, func() string {
		got := s.jsonpath(ns, "report/martech-guardrails", expr)
		if strings.Contains(" "+got+" ", " "+result+" ") {
			return ""
		}
		return fmt.Sprintf("results %q", got)
	})
}

// Journey 5: a vendor is prohibited → Blocked, the Deployment keeps running
// and `get mw` says why; approved again → Active. One PolicyViolation event
// for the verdict, however often the workload is reconciled.
func journeyVendorProhibited(s *suite) {
	t := s.t
	deploy := "{.spec.template.spec.containers[0].image} {.spec.replicas}"
	before := s.jsonpath(ns, "deploy/winter-sale-microsite", deploy)
	s.ok("patch", "vendor", "hubspot", "--type=merge", "-p", `{"spec":{"status":"prohibited"}}`)
	s.ok("wait", "--for=jsonpath={.status.phase}=Blocked", "mw/winter-sale-microsite", "-n", ns, "--timeout=60s")
	out := s.ok("get", "mw", "winter-sale-microsite", "-n", ns, "-o", "wide")
	wantAll(t, "get mw", out, "Blocked")
	wantAll(t, "why (the Ready message)", s.jsonpath(ns, "mw/winter-sale-microsite", `{.status.conditions[?(@.type=="Ready")].message}`), "integration-references", "hubspot-email", "vendor-approved")
	if after := s.jsonpath(ns, "deploy/winter-sale-microsite", deploy); after != before {
		t.Errorf("the blocked workload's Deployment changed: %q → %q", before, after)
	}
	s.ok("wait", "--for=condition=Available", "deploy/winter-sale-microsite", "-n", ns, "--timeout=10s")

	// Problem 4: reconciles of the same verdict record no more events.
	for i := range 3 {
		s.ok("annotate", "mw", "winter-sale-microsite", "-n", ns, "--overwrite", fmt.Sprintf("e2e.guardrails.dev/poke=%d", i))
		time.Sleep(2 * time.Second)
	}
	// The events of this verdict: the microsite's PolicyViolation naming
	// vendor-approved (journey 4's verdicts were other ones).
	counts := s.jsonpath(ns, "events", `{range .items[?(@.reason=="PolicyViolation")]}{.involvedObject.name}{"\t"}{.count}{"\t"}{.message}{"\n"}{end}`)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(counts), "\n") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) == 3 && f[0] == "winter-sale-microsite" && strings.Contains(f[2], "vendor-approved") {
			var c int
			_, _ = fmt.Sscan(f[1], &c)
			n += c
		}
	}
	if n != 1 {
		t.Errorf("PolicyViolation recorded %d times for one verdict, want 1:\n%s", n, counts)
	}

	s.ok("patch", "vendor", "hubspot", "--type=merge", "-p", `{"spec":{"status":"approved"}}`)
	s.ok("wait", "--for=jsonpath={.status.phase}=Active", "mw/winter-sale-microsite", "-n", ns, "--timeout=60s")
}

// Journey 6: Active → Ended (replicas 0, ingress gone) → Archived (children
// deleted, status.archivedAt), and a later change of the standard's
// archiveAfter does not bring it back.
func journeyCampaignEnds(s *suite) {
	t := s.t
	s.ok("patch", "pstd", "default", "--type=merge", "-p", `{"spec":{"campaign":{"archiveAfter":"10s"}}}`)
	now := time.Now().UTC()
	w := fmt.Sprintf(`apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: flash-sale
  namespace: %s
spec:
  owner: {team: growth, contact: growth-team@acme.example}
  costCenter: MKT-4100
  campaign: {name: flash-sale, startsAt: %q, endsAt: %q}
  image: ghcr.io/acme-marketing/flash-sale:1.0.0
  exposure: {host: flash.campaigns.acme.example}
`, ns, now.Add(-time.Minute).Format(time.RFC3339), now.Add(15*time.Second).Format(time.RFC3339))
	if r := s.kubectlIn(w, "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("flash-sale was refused:\n%s", r.out)
	}
	s.ok("wait", "--for=jsonpath={.status.phase}=Active", "mw/flash-sale", "-n", ns, "--timeout=30s")
	s.ok("get", "ingress", "flash-sale", "-n", ns)

	s.ok("wait", "--for=jsonpath={.status.phase}=Ended", "mw/flash-sale", "-n", ns, "--timeout=60s")
	if got := s.jsonpath(ns, "deploy/flash-sale", "{.spec.replicas}"); got != "0" {
		t.Errorf("an Ended campaign's Deployment has %q replicas, want 0", got)
	}
	if r := s.kubectl("get", "ingress", "flash-sale", "-n", ns); r.code == 0 {
		t.Errorf("an Ended campaign still has its Ingress:\n%s", r.out)
	}
	if row := line(s.ok("get", "mw", "flash-sale", "-n", ns), "flash-sale"); !strings.Contains(row, "Ended") || strings.Contains(row, "https://") {
		t.Errorf("get mw for an Ended campaign: %q, want Ended and no URL", row)
	}

	s.ok("wait", "--for=jsonpath={.status.phase}=Archived", "mw/flash-sale", "-n", ns, "--timeout=60s")
	if s.jsonpath(ns, "mw/flash-sale", "{.status.archivedAt}") == "" {
		t.Errorf("an Archived workload has no status.archivedAt")
	}
	s.eventually(30*time.Second, "the archived campaign's Deployment deleted", func() string {
		if r := s.kubectl("get", "deploy", "flash-sale", "-n", ns); r.code == 0 {
			return "still there"
		}
		return ""
	})

	// Problem 6: archiveAfter back to 720h, and the campaign stays archived.
	s.ok("patch", "pstd", "default", "--type=merge", "-p", `{"spec":{"campaign":{"archiveAfter":"720h"}}}`)
	// The standard's change re-reconciles every workload; give it the time
	// several reconciles take, then look.
	time.Sleep(8 * time.Second)
	if phase := s.jsonpath(ns, "mw/flash-sale", "{.status.phase}"); phase != "Archived" {
		t.Errorf("after archiveAfter went back to 720h the campaign is %q, want Archived", phase)
	}
	if r := s.kubectl("get", "deploy", "flash-sale", "-n", ns); r.code == 0 {
		t.Errorf("the archived campaign's Deployment came back:\n%s", r.out)
	}
}

// Journey 7: `guardrails check` passes the samples and fails the bad
// example; a server-side apply of the samples converges, and a second one is
// a no-op (same generation and resourceVersion).
func journeyGitOps(s *suite) {
	t := s.t
	if c := s.guardrails("check", "-f", "config/samples/"); c.code != 0 {
		t.Errorf("bin/guardrails check -f config/samples/ exited %d:\n%s", c.code, c.out)
	}
	c := s.guardrails("check", "--vendors", "config/samples/02_vendors.yaml", "--standard", "config/samples/01_platformstandard.yaml", "--policies", "config/samples/04_guardrailpolicy.yaml", "-f", "docs/examples/bad-workload.yaml")
	if c.code != 1 {
		t.Errorf("bin/guardrails check of docs/examples/bad-workload.yaml exited %d, want 1:\n%s", c.code, c.out)
	}
	wantAll(t, "guardrails check of the bad example", c.out, "allowed-registries", "pinned-image-tags", "exposure-host", "ownership")
	// Problem 7: the registry fix does not suggest what pinned-image-tags denies.
	if strings.Contains(c.out, "acme-marketing/nginx:latest") {
		t.Errorf("allowed-registries suggests an image pinned-image-tags denies:\n%s", c.out)
	}
	wantAll(t, "allowed-registries' suggestion", c.out, "ghcr.io/acme-marketing/nginx:<version>")

	r := s.kubectl("apply", "--server-side", "-f", "config/samples/")
	if r.code != 0 {
		t.Fatalf("bin/kubectl apply --server-side -f config/samples/ exited %d:\n%s", r.code, r.out)
	}
	s.ok("wait", "--for=condition=Ready", "mw", "--all", "-n", ns, "--timeout=60s")
	versions := func() string {
		return s.ok("get", "martech", "-A", "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.generation} {.metadata.resourceVersion}{"\n"}{end}`)
	}
	// Converged: two looks a few seconds apart see the same versions.
	var settled string
	s.eventually(60*time.Second, "the samples settle", func() string {
		a := versions()
		time.Sleep(3 * time.Second)
		if b := versions(); a != b {
			return "still changing"
		}
		settled = a
		return ""
	})
	r = s.kubectl("apply", "--server-side", "-f", "config/samples/")
	if r.code != 0 {
		t.Fatalf("the second server-side apply exited %d:\n%s", r.code, r.out)
	}
	time.Sleep(2 * time.Second)
	if again := versions(); again != settled {
		t.Errorf("a second server-side apply of the same samples changed objects:\nbefore:\n%s\nafter:\n%s", settled, again)
	}
}

// Journey 8: the manager is killed (SIGKILL) while it provisions 50 new
// workloads, and started again: all 50 converge with exactly one
// Deployment, Service and ServiceAccount each.
func journeyManagerKilled(s *suite) {
	t := s.t
	const scaleNS, n = "e2e-scale", 50
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {martech.guardrails.dev/managed: \"true\"}\n", scaleNS)
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: landing-%02d
  namespace: %s
spec:
  owner: {team: growth, contact: growth-team@acme.example}
  costCenter: MKT-4100
  image: ghcr.io/acme-marketing/landing:1.0.%d
`, i, scaleNS, i)
	}
	// The apply runs while the manager provisions what already arrived;
	// the manager is killed once a few Deployments exist. The rest of the
	// apply is refused while no webhook answers (failurePolicy Fail), so
	// the user applies again once it is back, as a pipeline retries.
	applied := make(chan result, 1)
	go func() {
		r, err := runE(s.root, s.env(), b.String(), 3*time.Minute, s.root+"/bin/kubectl", "--kubeconfig", s.kubeconfig, "apply", "-f", "-")
		if err != nil {
			r = result{out: err.Error(), code: -1}
		}
		applied <- r
	}()
	deadline := time.Now().Add(90 * time.Second)
	for count(s.jsonpath(scaleNS, "deploy", "{.items[*].metadata.name}")) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no Deployments in %s after 90s", scaleNS)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stopManager(syscall.SIGKILL)
	made := count(s.jsonpath(scaleNS, "deploy", "{.items[*].metadata.name}"))
	first := <-applied
	stored := count(s.jsonpath(scaleNS, "mw", "{.items[*].metadata.name}"))
	t.Logf("SIGKILL with %d of %d workloads stored, %d Deployments made (the apply exited %d)", stored, n, made, first.code)
	if made >= n {
		t.Errorf("the manager had made all %d Deployments before it was killed: not mid-way", n)
	}
	s.startManager()
	if r := s.kubectlIn(b.String(), "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("applying the 50 workloads again exited %d:\n%s", r.code, r.out)
	}
	s.ok("wait", "--for=condition=Ready", "mw", "--all", "-n", scaleNS, "--timeout=180s")
	for _, kind := range []string{"deploy", "service", "serviceaccount"} {
		names := strings.Fields(s.jsonpath(scaleNS, kind, `{range .items[?(@.metadata.ownerReferences[0].kind=="MarketingWorkload")]}{.metadata.name}{" "}{end}`))
		seen := map[string]int{}
		for _, name := range names {
			seen[name]++
		}
		for i := range n {
			if c := seen[fmt.Sprintf("landing-%02d", i)]; c != 1 {
				t.Errorf("%s landing-%02d: %d, want exactly 1", kind, i, c)
			}
		}
		if len(names) != n {
			t.Errorf("%d %s owned by workloads, want %d", len(names), kind, n)
		}
	}
	s.ok("delete", "namespace", scaleNS, "--wait=false")
}

// Journey 9: the API server (the whole control plane) is stopped and
// started again; the manager keeps running, reconnects, and a workload
// created after the restart converges.
func journeyAPIServerRestart(s *suite) {
	t := s.t
	if r := s.kwokctl("stop", "cluster"); r.code != 0 {
		t.Fatalf("kwokctl stop cluster: %s", r.out)
	}
	time.Sleep(3 * time.Second)
	if r := s.kwokctl("start", "cluster", "--wait", "120s"); r.code != 0 {
		t.Fatalf("kwokctl start cluster: %s", r.out)
	}
	select {
	case <-s.mgrDone:
		t.Fatalf("the manager exited when the API server went away:\n%s", s.mgrLog.String())
	default:
	}
	w := fmt.Sprintf(`apiVersion: martech.guardrails.dev/v1alpha1
kind: MarketingWorkload
metadata:
  name: after-restart
  namespace: %s
spec:
  owner: {team: growth, contact: growth-team@acme.example}
  costCenter: MKT-4100
  image: ghcr.io/acme-marketing/after-restart:1.0.0
`, ns)
	// The webhook answers again once the API server reaches it.
	s.eventually(60*time.Second, "the workload admitted after the restart", func() string {
		if r := s.kubectlIn(w, "apply", "-f", "-"); r.code != 0 {
			return r.out
		}
		return ""
	})
	s.ok("wait", "--for=condition=Ready", "mw/after-restart", "-n", ns, "--timeout=120s")
	// Converged: the operator's part is done. The pod itself is not
	// asserted Running: kwok v0.8's restarted kwok-controller does not
	// take its nodes' leases back ("lease already exists") and plays no
	// more pods, a limit of the simulation, not of the operator.
	if got := s.jsonpath(ns, "deploy/after-restart", "{.spec.template.spec.containers[0].image} {.spec.replicas}"); got != "ghcr.io/acme-marketing/after-restart:1.0.0 1" {
		t.Errorf("the Deployment of a workload created after the restart: %q", got)
	}
	for _, child := range []string{"service/after-restart", "serviceaccount/after-restart", "networkpolicy/after-restart"} {
		s.ok("get", child, "-n", ns)
	}
	wantAll(t, "get mw after the restart", line(s.ok("get", "mw", "after-restart", "-n", ns), "after-restart"), "Active", "true")
}

// line is the first line of out that contains s.
func line(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func count(names string) int { return len(strings.Fields(names)) }

// scrape reads the manager's /metrics (plain HTTP on loopback, as `make
// run` serves it).
func scrape(s *suite) string {
	s.t.Helper()
	resp, err := http.Get("http://" + s.metricsAddr + "/metrics")
	if err != nil {
		s.t.Fatalf("GET /metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// admissionDenials sums guardrails_admission_denials_total for policy.
func admissionDenials(s *suite, policy string) float64 {
	var sum float64
	for _, l := range strings.Split(scrape(s), "\n") {
		if strings.HasPrefix(l, "guardrails_admission_denials_total{") && strings.Contains(l, `policy="`+policy+`"`) {
			var v float64
			if f := strings.Fields(l); len(f) == 2 {
				_, _ = fmt.Sscan(f[1], &v)
			}
			sum += v
		}
	}
	return sum
}
