package parity

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// suiteNow is the one instant every door judges at: the fake clock of the
// webhooks and the reconcilers, and `--now` of the CLI.
var suiteNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// statusTimeout bounds the wait for the reconcilers (door c), and
// statusStable is how long their statuses must stay unchanged before a
// status that differs from the expectation is taken as their answer.
const (
	statusTimeout = 60 * time.Second
	statusStable  = 5 * time.Second
)

// TestParity proves "same input, same verdict at every door". The world is
// base/ (namespaces, the default PlatformStandard, Vendors, credential
// Secrets) plus corpus/ (the cases), as one cluster would hold it. Every
// document of our kinds in either carries the results it should get, as
// `# expect: <policy> <outcome> [<field>]` comment lines (or
// `# expect: none`), where outcome is deny, warn, audit, error, or waived
// for a result an exception waives, whatever its enforcement. The results
// of an object at a door are compared as a set of (policy, outcome, field).
//
// The doors:
//
//   - (a) the admission webhook: each object is created with server-side
//     dry-run (client.DryRunAll) as envtest's admin, which the webhooks
//     judge; each cause of a rejection (Forbidden for a policy denial,
//     Invalid for a malformed object) is a deny result, and each admission
//     warning a warn, waived or error result. Admission never returns
//     audit results, so at this door only the non-audit expectations are
//     compared. (Nor does it show a waived result whose enforcement was
//     audit or error; the corpus holds none.)
//   - (b) `guardrails check -f base -f corpus --now <suiteNow> -o json`, the
//     binary built from ./cmd/guardrails.
//   - (c) status.violations of each object, as the reconcilers write it,
//     read once every object's status.observedGeneration equals its
//     generation and it has a Ready condition (the audit writes the same
//     field from the same engine, only when it differs).
//   - (d) the background audit's openreports.io Reports (one per
//     namespace) and ClusterReport: each object's results other than pass
//     (skip is waived, fail deny or audit by the result's enforcement
//     property), read once they stay unchanged; results about objects not
//     in the world (the Deployments and Services the reconcilers create,
//     judged by unmanaged-workload) must all be pass.
//
// Objects are dry-run, then created for real as the manager's (exempt)
// identity, one by one in dependency order (Namespaces, PlatformStandards,
// Vendors, Secrets, GuardrailPolicies, PolicyExceptions,
// SaaSIntegrations, MarketingWorkloads; within a kind by file and
// position), so that each object is judged at admission in the world
// formed by those before it, which for every case is the whole world it
// depends on. Hence no case waives a Vendor or PlatformStandard or targets
// one with a custom policy, and no standard names a custom policy: those
// are created after them.
//
// Every door must give each object exactly its expected results. A
// disagreement names the case (file and line), the door, and prints the
// expected set and every door's set.
func TestParity(t *testing.T) {
	docs, err := loadWorld()
	if err != nil {
		t.Fatal(err)
	}
	ordered, err := inCreationOrder(docs)
	if err != nil {
		t.Fatal(err)
	}
	subs := subjects(docs)
	ctx := context.Background()

	// Build the CLI while the cluster starts.
	binDir := t.TempDir()
	var bin string
	var buildErr error
	built := make(chan struct{})
	go func() {
		defer close(built)
		bin, buildErr = buildCLI(ctx, binDir)
	}()
	t.Cleanup(func() { <-built }) // before binDir is removed

	closeLog, err := setLogger()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLog)
	c, err := startCluster(clocktesting.NewFakeClock(suiteNow))
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	// Door (a), and the world built object by object.
	doorA := map[string]verdict{}
	for _, d := range ordered {
		if d.subject {
			doorA[d.key()] = c.admit(ctx, d.obj)
		}
		if err := c.create(ctx, d.obj); err != nil {
			t.Fatalf("%s: %v", d.where(), err)
		}
		if d.obj.GetKind() == v1alpha1.KindGuardrailPolicy {
			if err := c.waitCompiled(ctx, d.obj.GetName()); err != nil {
				t.Fatalf("%s: %v", d.where(), err)
			}
		}
	}

	// Door (c).
	doorC := c.settle(ctx, subs)

	// Door (d).
	doorD, err := c.settleReports(ctx, subs)
	if err != nil {
		t.Fatal(err)
	}

	// Door (b).
	<-built
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cli, judged, err := check(ctx, bin, suiteNow)
	if err != nil {
		t.Fatal(err)
	}
	if judged != len(subs) {
		t.Errorf("guardrails check judged %d objects; the world has %d of our kinds", judged, len(subs))
	}
	doorB := map[string]verdict{}
	for _, d := range subs {
		v := verdict{results: cli[d.key()]}
		if v.results == nil {
			v.results = resultSet{}
		}
		doorB[d.key()] = v
		delete(cli, d.key())
	}
	for _, k := range slices.Sorted(maps.Keys(cli)) {
		t.Errorf("guardrails check reports %s, which is not in the world: %s", k, cli[k])
	}

	disagreements := 0
	for _, d := range subs {
		doors := []struct {
			name string
			got  verdict
			want resultSet
		}{
			{"(a) webhook dry-run   ", doorA[d.key()], d.expect.admissionView()},
			{"(b) guardrails check  ", doorB[d.key()], d.expect},
			{"(c) reconciler status ", doorC[d.key()], d.expect},
			{"(d) audit report      ", doorD[d.key()], d.expect},
		}
		var b strings.Builder
		var failed []string
		fmt.Fprintf(&b, "      expected                %s\n", d.expect)
		for _, door := range doors {
			mark := "     "
			note := ""
			if door.got.problem != "" || !door.got.results.equal(door.want) {
				mark = "  ✗  "
				failed = append(failed, strings.TrimSpace(door.name))
				disagreements++
				if !door.want.equal(d.expect) {
					note = "   (want " + door.want.String() + ": audit results never reach admission)"
				}
			}
			fmt.Fprintf(&b, "%s%s %s%s\n", mark, door.name, door.got, note)
		}
		if len(failed) > 0 {
			t.Errorf("%s (document %d of the file): %s disagree with the expectation:\n%s", d.where(), d.index+1, strings.Join(failed, ", "), b.String())
		}
	}
	fmt.Printf("parity: %d objects, 4 doors, %d disagreements\n", len(subs), disagreements)

	// Objects the API refuses: never stored, judged at doors (a) and (b).
	checkRefused(ctx, t, c, bin)
}

// settle polls the statuses of the subjects (door c) until each has been
// reconciled and they all give their expected results, or they have all
// been reconciled and stayed unchanged for statusStable, or statusTimeout
// passes; it returns the last reading.
func (c *cluster) settle(ctx context.Context, subs []*doc) map[string]verdict {
	deadline := time.Now().Add(statusTimeout)
	var last map[string]verdict
	changed := time.Now()
	for {
		cur := make(map[string]verdict, len(subs))
		allReconciled, allExpected := true, true
		for _, d := range subs {
			v, reconciled := c.statusVerdict(ctx, d)
			cur[d.key()] = v
			allReconciled = allReconciled && reconciled
			allExpected = allExpected && reconciled && v.results.equal(d.expect)
		}
		if !sameVerdicts(last, cur) {
			changed = time.Now()
		}
		last = cur
		if allExpected || (allReconciled && time.Since(changed) >= statusStable) || time.Now().After(deadline) {
			return cur
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// settleReports polls the audit's reports (door d) until every subject has
// its expected results, or the reports stay unchanged for statusStable, or
// statusTimeout passes; it returns the last reading. A non-pass result
// about an object outside the world is an error.
func (c *cluster) settleReports(ctx context.Context, subs []*doc) (map[string]verdict, error) {
	deadline := time.Now().Add(statusTimeout)
	var last map[string]verdict
	changed := time.Now()
	for {
		byKey, err := c.reportVerdicts(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the audit's reports: %w", err)
		}
		cur := make(map[string]verdict, len(subs))
		allExpected := true
		for _, d := range subs {
			v := verdict{results: byKey[d.key()]}
			if v.results == nil {
				v.results = resultSet{}
			}
			delete(byKey, d.key())
			cur[d.key()] = v
			allExpected = allExpected && v.results.equal(d.expect)
		}
		for _, k := range slices.Sorted(maps.Keys(byKey)) {
			if len(byKey[k]) > 0 {
				return nil, fmt.Errorf("the audit reports %s, which is not in the world: %s", k, byKey[k])
			}
		}
		if !sameVerdicts(last, cur) {
			changed = time.Now()
		}
		last = cur
		if allExpected || time.Since(changed) >= statusStable || time.Now().After(deadline) {
			return cur, nil
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func sameVerdicts(a, b map[string]verdict) bool {
	if a == nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.problem != w.problem || !v.results.equal(w.results) {
			return false
		}
	}
	return true
}
