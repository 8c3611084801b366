package agenda

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// sample is an agenda with a vendor (two contract items, one overdue), an
// exception and a campaign.
func sample(t *testing.T, renews time.Time) *Agenda {
	t.Helper()
	v := vendor("crm", contract(renews, 30, true), owned("crm-ops", "crm@acme.example"))
	v.Spec.DisplayName = "CRM, Inc; \"the\" CRM\x1b[31m"
	mw := workload("site", day(-10), day(20), v1alpha1.Owner{Team: "growth"})
	ex := exception("pilot", day(45), v1alpha1.ExceptionTarget{Kind: v1alpha1.KindMarketingWorkload, Name: "site"})
	s := src(nil, nil, v, mw, ex)
	s.Cluster = "prod-eu"
	items := build(t, 0, s)
	return &Agenda{Now: now, Within: DefaultWithin, Items: items}
}

func TestWriteText(t *testing.T) {
	a := sample(t, day(10))
	var b bytes.Buffer
	if err := WriteText(&b, a); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `\x1b[31m`) {
		t.Errorf("control characters not quoted:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+len(a.Items)+2 {
		t.Fatalf("want a header, %d items, a blank line and the total:\n%s", len(a.Items), out)
	}
	if !strings.HasPrefix(lines[0], "WHEN") || !strings.Contains(lines[1], "OVERDUE 20d") || !strings.Contains(lines[1], "1200.00 EUR") {
		t.Errorf("lines:\n%s", out)
	}
	// Aligned: every item's WHAT starts in the same column.
	col := strings.Index(lines[0], "WHAT")
	for _, l := range lines[1 : 1+len(a.Items)] {
		if !strings.HasPrefix(l[col:], "contract-") && !strings.HasPrefix(l[col:], "campaign-") && !strings.HasPrefix(l[col:], "exception-") {
			t.Errorf("not aligned at column %d: %q", col, l)
		}
	}
	if want := "5 items within 90 days of 2026-12-01T00:00:00Z, 1 overdue."; lines[len(lines)-1] != want {
		t.Errorf("total %q, want %q", lines[len(lines)-1], want)
	}
	b.Reset()
	if err := WriteText(&b, &Agenda{Now: now, Within: DefaultWithin}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "No dated decision within 90 days of 2026-12-01T00:00:00Z.\n" {
		t.Errorf("empty: %q", b.String())
	}
}

func TestWriteCSV(t *testing.T) {
	a := sample(t, day(10))
	var b bytes.Buffer
	if err := WriteCSV(&b, a); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(a.Items) || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows: %q", rows)
	}
	col := func(name string) int {
		for i, h := range CSVHeader {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	first := rows[1]
	if first[col("at")] != "2026-11-11T00:00:00Z" || first[col("overdue")] != "true" || first[col("days")] != "-20" ||
		first[col("what")] != WhatNotice || first[col("cluster")] != "prod-eu" || first[col("auto_renew")] != "true" ||
		first[col("annual_cost")] != "1200.00" || first[col("currency")] != "EUR" || first[col("who")] != "crm-ops <crm@acme.example>" {
		t.Errorf("first row: %q", first)
	}
	// The display name's comma, semicolon and quotes survive the round trip.
	if !strings.Contains(first[col("summary")], `CRM, Inc; "the" CRM`) {
		t.Errorf("summary: %q", first[col("summary")])
	}
}

func TestWriteJSON(t *testing.T) {
	a := sample(t, day(10))
	var b bytes.Buffer
	if err := WriteJSON(&b, a); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Now    string `json:"now"`
		Within string `json:"within"`
		Items  []Item `json:"items"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Now != "2026-12-01T00:00:00Z" || got.Within != "2160h0m0s" || len(got.Items) != len(a.Items) {
		t.Fatalf("%+v", got)
	}
	for i := range got.Items {
		if line(got.Items[i]) != line(a.Items[i]) || got.Items[i].Pos != a.Items[i].Pos || got.Items[i].Days != a.Items[i].Days {
			t.Errorf("item %d: %+v, want %+v", i, got.Items[i], a.Items[i])
		}
	}
	b.Reset()
	if err := WriteJSON(&b, &Agenda{Now: now, Within: DefaultWithin}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"items": []`) {
		t.Errorf("an empty agenda has items []: %s", b.String())
	}
}

// parseICS reads a feed with an independent iCalendar parser
// (github.com/emersion/go-ical) and writes it back with its encoder, which
// refuses a calendar or event without the properties RFC 5545 requires.
func parseICS(t *testing.T, a *Agenda) (string, *ical.Calendar) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteICS(&b, a); err != nil {
		t.Fatal(err)
	}
	raw := b.String()
	cal, err := ical.NewDecoder(strings.NewReader(raw)).Decode()
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if err := ical.NewEncoder(&bytes.Buffer{}).Encode(cal); err != nil {
		t.Fatalf("not a valid calendar: %v\n%s", err, raw)
	}
	return raw, cal
}

func TestWriteICS(t *testing.T) {
	a := sample(t, day(10))
	raw, cal := parseICS(t, a)
	for i, l := range strings.SplitAfter(raw, "\r\n") {
		if strings.ContainsAny(strings.TrimSuffix(l, "\r\n"), "\r\n\x1b") {
			t.Errorf("line %d has a bare line break or control character: %q", i, l)
		}
		if len(l) > 75+2 {
			t.Errorf("line %d is longer than 75 octets: %q", i, l)
		}
	}
	if v := cal.Props.Get(ical.PropProductID); v == nil || v.Value != ProductID {
		t.Errorf("PRODID %v", v)
	}
	if v := cal.Props.Get(ical.PropVersion); v == nil || v.Value != "2.0" {
		t.Errorf("VERSION %v", v)
	}
	events := cal.Events()
	if len(events) != len(a.Items) {
		t.Fatalf("%d events for %d items", len(events), len(a.Items))
	}
	for i, ev := range events {
		it := a.Items[i]
		uid, err := ev.Props.Text(ical.PropUID)
		if err != nil || uid != UID(it) {
			t.Errorf("event %d: UID %q (%v), want %q", i, uid, err, UID(it))
		}
		start, err := ev.DateTimeStart(time.UTC)
		if err != nil || !start.Equal(it.At) {
			t.Errorf("event %d: DTSTART %s (%v), want %s", i, start, err, it.At)
		}
		if p := ev.Props.Get(ical.PropDateTimeStart); p == nil || p.ValueType() != ical.ValueDateTime || !strings.HasSuffix(p.Value, "Z") {
			t.Errorf("event %d: DTSTART is not a UTC date-time: %+v", i, p)
		}
		stamp, err := ev.Props.DateTime(ical.PropDateTimeStamp, time.UTC)
		if err != nil || !stamp.Equal(now) {
			t.Errorf("event %d: DTSTAMP %s (%v), want --now", i, stamp, err)
		}
		summary, _ := ev.Props.Text(ical.PropSummary)
		desc, _ := ev.Props.Text(ical.PropDescription)
		if !strings.Contains(summary, it.Object()) || it.Overdue != strings.HasPrefix(summary, "OVERDUE: ") {
			t.Errorf("event %d: SUMMARY %q", i, summary)
		}
		if !strings.Contains(desc, "Who acts: "+it.Who) || !strings.Contains(desc, "Cluster: prod-eu") || !strings.Contains(desc, "\n") {
			t.Errorf("event %d: DESCRIPTION %q", i, desc)
		}
		if it.Cost != nil && !strings.Contains(desc, "Annual cost: 1200.00 EUR") {
			t.Errorf("event %d: no cost in %q", i, desc)
		}
		alarms := 0
		for _, c := range ev.Children {
			if c.Name == ical.CompAlarm {
				alarms++
				if trig := c.Props.Get(ical.PropTrigger); trig == nil || trig.Value != AlarmBefore {
					t.Errorf("event %d: alarm trigger %+v", i, trig)
				}
			}
		}
		if want := map[bool]int{true: 0, false: 1}[it.Overdue]; alarms != want {
			t.Errorf("event %d (overdue %t): %d alarms", i, it.Overdue, alarms)
		}
	}
	// The vendor's display name, with its control character quoted, is
	// read back as text.
	desc, _ := events[0].Props.Text(ical.PropDescription)
	if !strings.Contains(desc, `CRM, Inc; "the" CRM\x1b[31m`) {
		t.Errorf("escaped text: %q", desc)
	}
	// The same inputs give the same bytes.
	again, _ := parseICS(t, sample(t, day(10)))
	if again != raw {
		t.Error("two runs differ")
	}
}

// TestICSReimportUpdates: when the contract's dates move (a renewal
// recorded), the feed has the same UIDs with new DTSTARTs, so a calendar
// re-importing it updates its events.
func TestICSReimportUpdates(t *testing.T) {
	_, before := parseICS(t, sample(t, day(10)))
	_, after := parseICS(t, sample(t, day(60)))
	starts := func(cal *ical.Calendar) map[string]time.Time {
		m := map[string]time.Time{}
		for _, ev := range cal.Events() {
			uid, _ := ev.Props.Text(ical.PropUID)
			start, err := ev.DateTimeStart(time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := m[uid]; dup {
				t.Errorf("UID %s twice", uid)
			}
			m[uid] = start
		}
		return m
	}
	b, a := starts(before), starts(after)
	if len(b) != 5 || len(a) != 5 {
		t.Fatalf("events: %d before, %d after", len(b), len(a))
	}
	moved := 0
	for uid, t0 := range b {
		t1, ok := a[uid]
		if !ok {
			t.Errorf("UID %s gone after the dates moved", uid)
			continue
		}
		if !t0.Equal(t1) {
			moved++
		}
	}
	if moved != 2 { // the notice deadline and the renewal
		t.Errorf("%d events moved, want 2", moved)
	}
	notice := UID(Item{Cluster: "prod-eu", Kind: v1alpha1.KindVendor, Name: "crm", What: WhatNotice})
	if got, want := a[notice], day(30); !got.Equal(want) {
		t.Errorf("notice after the move: %s, want %s", got, want)
	}
}

func TestWhen(t *testing.T) {
	if got := When(now); got != "2026-12-01" {
		t.Errorf("midnight: %q", got)
	}
	if got := When(now.Add(18*time.Hour + 30*time.Minute)); got != "2026-12-01 18:30 UTC" {
		t.Errorf("evening: %q", got)
	}
	if got := When(now.Add(policy.Day).In(time.FixedZone("x", -5*3600))); got != "2026-12-02" {
		t.Errorf("in another zone: %q", got)
	}
}
