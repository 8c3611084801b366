package render_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/render"
)

func TestPhaseAt(t *testing.T) {
	const start, end = "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"
	campaign := withCampaign(start, end)
	archiveDefault := mustTime(end).Add(render.DefaultArchiveAfter)
	archive48h := mustTime(end).Add(48 * time.Hour)
	std48h := newStandard(func(s *v1alpha1.PlatformStandardSpec) { s.Campaign.ArchiveAfter = duration(48 * time.Hour) })

	tests := []struct {
		name     string
		w        *v1alpha1.MarketingWorkload
		std      *v1alpha1.PlatformStandard
		now      string
		phase    v1alpha1.WorkloadPhase
		replicas int32
		exposed  bool
		next     *time.Time
	}{
		{name: "before start", w: newWorkload(campaign, withReplicas(3), withExposure("a.acme.example")), now: "2027-02-28T23:59:59Z",
			phase: v1alpha1.PhaseScheduled, replicas: 0, exposed: false, next: ptrTime(start)},
		{name: "at start is active", w: newWorkload(campaign, withReplicas(3), withExposure("a.acme.example")), now: start,
			phase: v1alpha1.PhaseActive, replicas: 3, exposed: true, next: ptrTime(end)},
		{name: "active, replicas default to 1", w: newWorkload(campaign), now: "2027-03-15T12:00:00Z",
			phase: v1alpha1.PhaseActive, replicas: 1, next: ptrTime(end)},
		{name: "active with zero replicas asked", w: newWorkload(campaign, withReplicas(0)), now: "2027-03-15T12:00:00Z",
			phase: v1alpha1.PhaseActive, replicas: 0, next: ptrTime(end)},
		{name: "at end is ended", w: newWorkload(campaign, withReplicas(3), withExposure("a.acme.example")), now: end,
			phase: v1alpha1.PhaseEnded, replicas: 0, exposed: false, next: &archiveDefault},
		{name: "ended, archive after default 720h", w: newWorkload(campaign), now: "2027-04-30T23:59:59Z",
			phase: v1alpha1.PhaseEnded, next: &archiveDefault},
		{name: "archived after default 720h", w: newWorkload(campaign), now: "2027-05-01T00:00:00Z",
			phase: v1alpha1.PhaseArchived},
		{name: "archiveAfter from the standard", w: newWorkload(campaign), std: std48h, now: "2027-04-02T00:00:00Z",
			phase: v1alpha1.PhaseEnded, next: &archive48h},
		{name: "archived per the standard", w: newWorkload(campaign), std: std48h, now: "2027-04-03T00:00:00Z",
			phase: v1alpha1.PhaseArchived},
		{name: "archived once stays archived when archiveAfter grows", w: archivedAt(newWorkload(campaign), "2027-04-03T00:00:00Z"), now: "2027-04-05T00:00:00Z",
			phase: v1alpha1.PhaseArchived},
		{name: "archived once, new dates bring it back", w: archivedAt(newWorkload(withCampaign("2027-04-04T00:00:00Z", "2027-05-01T00:00:00Z")), "2027-04-03T00:00:00Z"), now: "2027-04-05T00:00:00Z",
			phase: v1alpha1.PhaseActive, replicas: 1, next: ptrTime("2027-05-01T00:00:00Z")},
		{name: "no campaign is active for ever", w: newWorkload(withReplicas(2), withExposure("a.acme.example")), now: "2099-01-01T00:00:00Z",
			phase: v1alpha1.PhaseActive, replicas: 2, exposed: true},
		{name: "no campaign, no replicas asked", w: newWorkload(), now: "2000-01-01T00:00:00Z",
			phase: v1alpha1.PhaseActive, replicas: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render.PhaseAt(tt.w, tt.std, mustTime(tt.now))
			if got.Phase != tt.phase || got.Replicas != tt.replicas || got.Exposed != tt.exposed {
				t.Errorf("PhaseAt = {%s replicas %d exposed %t}, want {%s replicas %d exposed %t}",
					got.Phase, got.Replicas, got.Exposed, tt.phase, tt.replicas, tt.exposed)
			}
			switch {
			case tt.next == nil && got.NextTransition != nil:
				t.Errorf("NextTransition = %s, want none", got.NextTransition)
			case tt.next != nil && got.NextTransition == nil:
				t.Errorf("NextTransition = none, want %s", tt.next)
			case tt.next != nil && !got.NextTransition.Equal(*tt.next):
				t.Errorf("NextTransition = %s, want %s", got.NextTransition, tt.next)
			}
		})
	}
}

// Render and PhaseAt agree, and the URL follows the phase.
func TestRenderLifecycleAndURL(t *testing.T) {
	w := newWorkload(withCampaign("2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"), withExposure("spring.acme.example"))
	for now, wantURL := range map[string]string{
		"2027-02-01T00:00:00Z": "",
		"2027-03-10T00:00:00Z": "https://spring.acme.example/",
		"2027-04-10T00:00:00Z": "",
	} {
		_, lc, err := render.Render(render.Inputs{Workload: w, Now: mustTime(now)})
		if err != nil {
			t.Fatal(err)
		}
		if want := render.PhaseAt(w, nil, mustTime(now)); lc.Phase != want.Phase {
			t.Errorf("%s: Render phase %s, PhaseAt %s", now, lc.Phase, want.Phase)
		}
		if got := render.URL(w, lc); got != wantURL {
			t.Errorf("%s: URL = %q, want %q", now, got, wantURL)
		}
	}
}

func ptrTime(s string) *time.Time {
	t := mustTime(s)
	return &t
}

// archivedAt records in status that w was archived at ts.
func archivedAt(w *v1alpha1.MarketingWorkload, ts string) *v1alpha1.MarketingWorkload {
	w.Status.ArchivedAt = &metav1.Time{Time: mustTime(ts)}
	return w
}
