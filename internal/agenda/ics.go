package agenda

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	ics "github.com/arran4/golang-ical"

	"github.com/martech-guardrails/guardrails/internal/report"
)

// The calendar WriteICS writes.
const (
	// ProductID is the calendar's PRODID.
	ProductID = "-//martech.guardrails.dev//guardrails agenda//EN"
	// CalendarName is the name calendars show for the feed (X-WR-CALNAME).
	CalendarName = "Martech agenda"
	// UIDDomain ends every event's UID.
	UIDDomain = "agenda.martech.guardrails.dev"
	// AlarmBefore is when the reminder of an upcoming item fires: a week
	// before, time enough to give notice or book a review.
	AlarmBefore = "-P7D"
)

// titles name each kind of item in an event's SUMMARY.
var titles = map[string]string{
	WhatNotice:          "Contract notice deadline",
	WhatRenewal:         "Contract renewal",
	WhatDPA:             "DPA expires",
	WhatSecurityReview:  "Security review expires",
	WhatException:       "Policy exception expires",
	WhatCampaignEnd:     "Campaign ends",
	WhatCampaignArchive: "Campaign archived",
	WhatCredentials:     "Credentials reach maximum age",
}

// UID is the calendar UID of an item: a hash of its cluster, kind,
// namespace, name and what, never of its date, so that a calendar
// re-importing the feed after a date moved (a contract renewed, an
// exception extended) updates the event instead of adding a second one.
func UID(it Item) string {
	h := sha256.New()
	for _, part := range []string{it.Cluster, it.Kind, it.Namespace, it.Name, it.What} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16]) + "@" + UIDDomain
}

// WriteICS writes the agenda as an iCalendar feed (RFC 5545): one VEVENT
// per item with a stable UID (UID), DTSTAMP the agenda's Now (the same
// inputs give the same bytes), and a timed DTSTART in UTC: the deadlines
// are instants (a notice deadline at 00:00 UTC is the evening before in
// New York), and a timed event shows each reader the instant in their own
// zone, where an all-day event would show the UTC date everywhere. An
// event has no DTEND (it ends when it starts, RFC 5545 3.6.1) and is
// transparent (it blocks no time). Upcoming items carry a display alarm a
// week before; overdue ones are titled OVERDUE and have none.
func WriteICS(w io.Writer, a *Agenda) error {
	cal := ics.NewCalendarFor("martech.guardrails.dev")
	cal.SetProductId(ProductID)
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	cal.SetXWRCalName(CalendarName)
	cal.SetXWRCalDesc(fmt.Sprintf("Dated decisions on the martech portfolio within %s of %s (guardrails agenda).", Duration(a.Within), When(a.Now)))
	for _, it := range a.Items {
		ev := cal.AddEvent(UID(it))
		ev.SetDtStampTime(a.Now)
		ev.SetStartAt(it.At)
		title := titles[it.What] + ": " + text(it.Object())
		if it.Overdue {
			title = "OVERDUE: " + title
		}
		ev.SetSummary(title)
		ev.SetDescription(description(it))
		ev.AddCategory(it.What)
		ev.SetTimeTransparency(ics.TransparencyTransparent)
		if !it.Overdue {
			alarm := ev.AddAlarm()
			alarm.SetAction(ics.ActionDisplay)
			alarm.SetTrigger(AlarmBefore)
			alarm.SetProperty(ics.ComponentPropertyDescription, title)
		}
	}
	// RFC 5545 lines end in CRLF on every platform (the library's
	// default is the platform's newline).
	return cal.SerializeTo(w, ics.WithNewLineWindows)
}

// description is an event's DESCRIPTION: the summary, who acts, the cost,
// the object and where it was read, a line each.
func description(it Item) string {
	lines := []string{text(it.Summary), "Who acts: " + text(it.Who)}
	if it.AutoRenew != nil {
		lines = append(lines, fmt.Sprintf("Auto-renews: %t", *it.AutoRenew))
	}
	if it.Cost != nil {
		lines = append(lines, "Annual cost: "+text(CostText(it.Cost)))
	}
	lines = append(lines, "Object: "+text(it.Object()))
	if it.Cluster != "" {
		lines = append(lines, "Cluster: "+text(it.Cluster))
	}
	if it.Pos != "" {
		lines = append(lines, "Source: "+text(it.Pos))
	}
	return strings.Join(lines, "\n")
}

// text keeps control characters of the objects' fields out of the feed:
// they are written as Go escapes (report.Quote), so the only line breaks in
// the output are the ones iCalendar puts there.
func text(s string) string { return report.Quote(s) }
