package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/agenda"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
	"github.com/martech-guardrails/guardrails/internal/resolve"
)

const agendaUsage = `
Usage: guardrails agenda [flags] [-f PATH ... | --kubeconfig FILE]

List every dated decision on the martech portfolio within --within of
--now, earliest first: the shared to-do list of the CIO and the CMO.

  contract-notice         last day to give notice on a Vendor contract
                          (renewsAt minus noticeDays), and whether it
                          auto-renews
  contract-renewal        the contract renews (or ends, without autoRenew)
  dpa-expiry              a signed DPA expires
  security-review-expiry  a vendor's security review expires
  exception-expiry        a PolicyException stops waiving its policies
  campaign-end            a MarketingWorkload's campaign ends (scaled to 0)
  campaign-archive        its objects are deleted (endsAt + archiveAfter)
  credentials-max-age     a SaaSIntegration's credentials pass the
                          PlatformStandard's credentials.maxAge

Each line says when, what happens, to which object (and its file:line),
who should act (the owner's contact; IT (catalogue) for a Vendor without
owner) and the contract's annual cost. A passed deadline that is still open
(a notice deadline before the renewal, an expired DPA, review or exception,
stale credentials) is listed as OVERDUE whatever --within says. A date that
cannot be known (a Secret without its creation time) is left out.

Read manifests (-f, as for check) or a live cluster (--kubeconfig, read
only). Formats: text (aligned, one line per item), json, csv (a header
row) and ics (an iCalendar feed: one event per item, with a UID that does
not change when the date does, so a calendar re-importing the feed updates
its events).`

const agendaExamples = `  # What is due in the next 90 days, from the repository
  guardrails agenda -f manifests/

  # Next quarter of the cluster, as a calendar to subscribe to or import
  guardrails agenda --kubeconfig ~/.kube/config -o ics > martech.ics

  # A year ahead, as a spreadsheet
  guardrails agenda -f manifests/ --within 365d -o csv > agenda.csv`

func runAgenda(e *env, args []string) int {
	f := newFlags("agenda", agendaUsage, agendaExamples)
	var src viewFlags
	src.register(f)
	within := withinFlag{d: agenda.DefaultWithin}
	f.Var(&within, "within", "list what is due within `DURATION` of --now: days (90d) or a Go duration (2160h)")
	format := choice{value: "text", allowed: []string{"text", "json", "csv", "ics"}}
	f.Var(&format, "o", "output `FORMAT`: text, json, csv or ics")
	pos, code, ok := f.parse(e, args)
	if !ok {
		return code
	}
	ctx := context.Background()
	sources, code, ok := src.load(ctx, e, f, "agenda", pos, false)
	if !ok {
		return code
	}
	now := src.now.value()
	items, err := agenda.Build(ctx, agendaSources(sources), agenda.Options{Now: now, Within: within.d})
	if err != nil {
		fmt.Fprintf(e.stderr, "guardrails agenda: %s\n", report.Quote(err.Error()))
		return ExitBadInput
	}
	out := e.stdout
	if format.value == "ics" {
		// iCalendar lines end in CRLF, which the terminal writer would
		// escape; every field of the objects is quoted by WriteICS.
		out = rawWriter(out)
	}
	write := map[string]func(io.Writer, *agenda.Agenda) error{
		"text": agenda.WriteText,
		"json": agenda.WriteJSON,
		"csv":  agenda.WriteCSV,
		"ics":  agenda.WriteICS,
	}[format.value]
	if err := write(out, &agenda.Agenda{Now: now, Within: within.d, Items: items}); err != nil {
		fmt.Fprintf(e.stderr, "guardrails agenda: %s\n", report.Quote(err.Error()))
		return ExitBadInput
	}
	return ExitOK
}

// agendaSources hands the agenda the objects of each source, the
// PlatformStandard in force for a namespace (as the resolver picks it) and
// the Secrets' metadata (internal/resolve, as every door reads it).
func agendaSources(sources []source) []agenda.Source {
	out := make([]agenda.Source, 0, len(sources))
	for _, s := range sources {
		w := s.world
		w.DropInventory() // no policy runs: the inventory is not read
		items := w.Items()
		objs := make([]agenda.Object, 0, len(items))
		for _, it := range items {
			o := agenda.Object{Object: it.Object}
			if file, _ := it.Position(); file != "" {
				o.Pos = it.Pos()
			}
			objs = append(objs, o)
		}
		standards := map[string]*v1alpha1.PlatformStandard{}
		out = append(out, agenda.Source{
			Cluster: s.cluster,
			Objects: objs,
			Standard: func(ctx context.Context, namespace string) *v1alpha1.PlatformStandard {
				std, ok := standards[namespace]
				if !ok {
					std = w.StandardFor(ctx, namespace)
					standards[namespace] = std
				}
				return std
			},
			Secret: func(ctx context.Context, namespace, name string) (policy.SecretInfo, error) {
				return resolve.Resolver{Reader: w}.Secret(ctx, namespace, name)
			},
		})
	}
	return out
}

// withinFlag is a positive duration: a Go duration (2160h) or whole days
// (90d).
type withinFlag struct{ d time.Duration }

func (w *withinFlag) String() string { return agenda.Duration(w.d) }

func (w *withinFlag) Set(v string) error {
	var d time.Duration
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("want a number of days such as 90d, or a Go duration such as 2160h")
		}
		if days > int(maxWithin/policy.Day) {
			return fmt.Errorf("at most %s", agenda.Duration(maxWithin))
		}
		d = time.Duration(days) * policy.Day
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("want a number of days such as 90d, or a Go duration such as 2160h")
		}
	}
	switch {
	case d <= 0:
		return fmt.Errorf("want a positive duration")
	case d > maxWithin:
		return fmt.Errorf("at most %s", agenda.Duration(maxWithin))
	}
	w.d = d
	return nil
}

// maxWithin keeps now+within inside what time.Duration holds (about 290
// years).
const maxWithin = 100 * 365 * policy.Day

// rawWriter is the stream under the terminal writer, for a format whose
// own escaping keeps control characters of the objects out (ics).
func rawWriter(w io.Writer) io.Writer {
	if t, ok := w.(*report.Terminal); ok {
		return t.Unwrap()
	}
	return w
}
