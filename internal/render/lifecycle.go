package render

import (
	"time"

	v1alpha1 "github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// Lifecycle is where a workload is in its campaign at a given instant and what
// that means for its children.
type Lifecycle struct {
	// Phase is Scheduled, Active, Ended or Archived. PhaseAt never returns
	// Blocked: that is a policy verdict the reconciler makes.
	Phase v1alpha1.WorkloadPhase
	// Replicas the Deployment runs in this phase: the spec's (default 1)
	// while Active, 0 otherwise.
	Replicas int32
	// Exposed is whether an Ingress is rendered: the workload asks for
	// exposure and the phase is Active.
	Exposed bool
	// NextTransition is when the phase next changes by itself; nil when it
	// never will (no campaign, or already Archived).
	NextTransition *time.Time
}

// PhaseAt says where a workload is in its campaign at now.
//
// Boundaries belong to the later phase: at exactly startsAt the workload is
// Active, at exactly endsAt it is Ended, at exactly endsAt+archiveAfter it is
// Archived. archiveAfter comes from the standard (spec.campaign.archiveAfter),
// default DefaultArchiveAfter; a negative value counts as zero. A workload
// without a campaign is Active for ever. A workload archived once
// (status.archivedAt) stays Archived while its endsAt is not after that
// instant, whatever the standard says now. Replicas are not capped at the
// standard's maxReplicas: the workload-limits policy decides that, and a
// workload it denies is Blocked and never rendered.
func PhaseAt(w *v1alpha1.MarketingWorkload, std *v1alpha1.PlatformStandard, now time.Time) Lifecycle {
	if w == nil {
		return Lifecycle{Phase: v1alpha1.PhaseActive}
	}
	active := Lifecycle{
		Phase:    v1alpha1.PhaseActive,
		Replicas: specReplicas(w),
		Exposed:  w.Spec.Exposure != nil,
	}
	c := w.Spec.Campaign
	if c == nil {
		return active
	}
	start, end := c.StartsAt.Time, c.EndsAt.Time
	if a := w.Status.ArchivedAt; a != nil && !end.After(a.Time) {
		// Archived is final for this campaign: a later change of the
		// standard's archiveAfter does not bring it back; new dates (an
		// endsAt after the archiving) do.
		return Lifecycle{Phase: v1alpha1.PhaseArchived}
	}
	archive, _ := ArchiveAt(w, std)
	switch {
	case now.Before(start):
		return Lifecycle{Phase: v1alpha1.PhaseScheduled, NextTransition: &start}
	case now.Before(end):
		active.NextTransition = &end
		return active
	case now.Before(archive):
		return Lifecycle{Phase: v1alpha1.PhaseEnded, NextTransition: &archive}
	default:
		return Lifecycle{Phase: v1alpha1.PhaseArchived}
	}
}

// ArchiveAt is when a workload's campaign is archived: its endsAt plus
// the standard's archiveAfter (DefaultArchiveAfter when the standard does
// not say); false for a workload without a campaign.
func ArchiveAt(w *v1alpha1.MarketingWorkload, std *v1alpha1.PlatformStandard) (time.Time, bool) {
	if w == nil || w.Spec.Campaign == nil {
		return time.Time{}, false
	}
	return w.Spec.Campaign.EndsAt.Add(archiveAfter(std)), true
}

// URL is where the workload is served in this lifecycle (https://host/path),
// or "" when it is not exposed right now. The reconciler writes it to
// status.url.
func URL(w *v1alpha1.MarketingWorkload, lc Lifecycle) string {
	if w == nil || !lc.Exposed || w.Spec.Exposure == nil {
		return ""
	}
	return "https://" + string(w.Spec.Exposure.Host) + exposurePath(w.Spec.Exposure)
}

func specReplicas(w *v1alpha1.MarketingWorkload) int32 {
	if w.Spec.Replicas == nil {
		return DefaultReplicas
	}
	return max(*w.Spec.Replicas, 0)
}

func archiveAfter(std *v1alpha1.PlatformStandard) time.Duration {
	if std == nil || std.Spec.Campaign.ArchiveAfter == nil {
		return DefaultArchiveAfter
	}
	return max(std.Spec.Campaign.ArchiveAfter.Duration, 0)
}

func exposurePath(e *v1alpha1.Exposure) string {
	if e.Path == "" {
		return DefaultPath
	}
	return e.Path
}
