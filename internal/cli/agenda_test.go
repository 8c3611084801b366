package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/martech-guardrails/guardrails/internal/agenda"
)

// agendaInput has credentials with known dates and overdue items; it is
// judged with the catalogue's standard and vendors.
const agendaInput = "testdata/agenda/input"

func agendaArgs(extra ...string) []string {
	return append([]string{"agenda", "--now", testNow}, extra...)
}

// TestAgendaGoldens runs guardrails agenda on the samples, the check
// fixtures and testdata/agenda/input in every format.
func TestAgendaGoldens(t *testing.T) {
	input := []string{"-f", agendaInput, "--standard", catalogue + "/standard.yaml", "--vendors", catalogue}
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"samples.txt", []string{"-f", samples}},
		{"samples-2y.txt", []string{"-f", samples, "--within", "730d"}},
		{"samples-2y.json", []string{"-f", samples, "--within", "17520h", "-o", "json"}},
		{"samples-2y.csv", []string{"-f", samples, "--within", "730d", "-o", "csv"}},
		{"samples-2y.ics", []string{"-f", samples, "--within", "730d", "-o", "ics"}},
		{"clean.txt", []string{fixtures + "/clean"}},
		{"input.txt", input},
		{"input.json", append(input, "-o", "json")},
		{"input.csv", append(input, "-o", "csv")},
		{"input.ics", append(input, "-o", "ics")},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := runCLI(t, nil, agendaArgs(tc.args...)...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("%s", r)
			}
			golden(t, "agenda/"+tc.golden, r.stdout)
		})
	}
}

// agendaJSON runs the agenda with -o json and decodes it.
func agendaJSON(t *testing.T, args ...string) []agenda.Item {
	t.Helper()
	r := runCLI(t, nil, agendaArgs(append(args, "-o", "json")...)...)
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	var out struct{ Items []agenda.Item }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// TestAgendaInput: what the input fixture holds, item by item: the
// credentials' dates from the Secrets' metadata (rotated-at first), the
// overdue items whatever the window, and who acts.
func TestAgendaInput(t *testing.T) {
	items := agendaJSON(t, "-f", agendaInput, "--standard", catalogue+"/standard.yaml", "--vendors", catalogue)
	var got []string
	for _, it := range items {
		got = append(got, it.At.Format(time.RFC3339)+" "+it.What+" "+it.Name+" overdue="+map[bool]string{true: "yes", false: "no"}[it.Overdue]+" "+it.Who)
	}
	want := []string{
		// rotated 2026-08-01T12:00:00Z + 2160h, exceeded by a second
		"2026-10-30T12:00:01Z credentials-max-age tags overdue=yes growth <growth-team@acme.example>",
		"2026-10-31T00:00:00Z dpa-expiry legacy-mailer overdue=yes IT (catalogue)",
		"2026-11-15T00:00:00Z exception-expiry tags-eu-only overdue=yes growth <growth-team@acme.example>",
		"2026-11-20T00:00:00Z contract-notice legacy-mailer overdue=yes IT (catalogue)",
		// created 2026-09-15 + 2160h
		"2026-12-14T00:00:01Z credentials-max-age crm overdue=no crm-ops <crm-ops@acme.example>",
		"2026-12-20T00:00:00Z contract-renewal legacy-mailer overdue=no IT (catalogue)",
		// ended 2026-11-30T18:00:00Z + archiveAfter 720h
		"2026-12-30T18:00:00Z campaign-archive black-friday overdue=no growth <growth-team@acme.example>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, it := range items {
		if !strings.HasPrefix(it.Pos, agendaInput+"/objects.yaml:") {
			t.Errorf("%s %s: source %q", it.What, it.Name, it.Pos)
		}
		if it.Kind == "Vendor" && (it.Cost == nil || it.Cost.Amount != "4800.00" || it.Cost.Currency != "GBP") {
			t.Errorf("%s: cost %+v", it.What, it.Cost)
		}
	}
	// Without the Secrets, the credentials' dates are unknown: left out.
	items = agendaJSON(t, "-f", agendaInput+"/objects.yaml", "-f", samples)
	for _, it := range items {
		if it.What == agenda.WhatCredentials && it.Name != "crm" && it.Name != "tags" {
			t.Errorf("credentials of a Secret whose creation is unknown: %+v", it)
		}
	}
}

// TestAgendaICS: the feed reaches stdout as RFC 5545 (CRLF line ends
// through the terminal writer), parses with an independent iCalendar
// library, has one event per item, and keeps its UIDs when a date moves.
func TestAgendaICS(t *testing.T) {
	parse := func(args ...string) *ical.Calendar {
		t.Helper()
		r := runCLI(t, nil, agendaArgs(append(args, "-o", "ics")...)...)
		if r.code != ExitOK {
			t.Fatalf("%s", r)
		}
		if !strings.HasPrefix(r.stdout, "BEGIN:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(r.stdout, "\r\n", ""), "\n") || strings.Contains(r.stdout, `\r`) {
			t.Fatalf("not CRLF-terminated lines:\n%q", r.stdout)
		}
		cal, err := ical.NewDecoder(strings.NewReader(r.stdout)).Decode()
		if err != nil {
			t.Fatal(err)
		}
		return cal
	}
	cal := parse("-f", samples, "--within", "730d")
	items := agendaJSON(t, "-f", samples, "--within", "730d")
	events := cal.Events()
	if len(events) != len(items) || len(items) < 10 {
		t.Fatalf("%d events, %d items", len(events), len(items))
	}
	uids := map[string]time.Time{}
	for i, ev := range events {
		uid, _ := ev.Props.Text(ical.PropUID)
		start, err := ev.DateTimeStart(time.UTC)
		if err != nil || !start.Equal(items[i].At) || uid != agenda.UID(items[i]) {
			t.Errorf("event %d: %s at %s (%v), want %s at %s", i, uid, start, err, agenda.UID(items[i]), items[i].At)
		}
		uids[uid] = start
	}
	if len(uids) != len(events) {
		t.Errorf("%d UIDs for %d events", len(uids), len(events))
	}
	// The exception renewed for three more months: same UID, new date.
	dir := writeFiles(t, map[string]string{"pex.yaml": strings.Replace(readFile(t, samples+"/05_policyexception.yaml"),
		`expiresAt: "2027-01-31T00:00:00Z"`, `expiresAt: "2027-04-30T00:00:00Z"`, 1)})
	moved := parse("-f", dir, "--within", "365d")
	if n := len(moved.Events()); n != 1 {
		t.Fatalf("%d events for the renewed exception", n)
	}
	ev := moved.Events()[0]
	uid, _ := ev.Props.Text(ical.PropUID)
	start, _ := ev.DateTimeStart(time.UTC)
	before, ok := uids[uid]
	if !ok || !before.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) || !start.Equal(time.Date(2027, 4, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("renewed exception: UID %s was at %s (known %t), now %s", uid, before, ok, start)
	}
}

func TestAgendaBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad within", []string{"-f", samples, "--within", "soon"}, []string{`invalid value "soon" for flag -within`, "90d"}},
		{"negative within", []string{"-f", samples, "--within", "-5d"}, []string{"flag -within", "positive"}},
		{"zero within", []string{"-f", samples, "--within", "0s"}, []string{"flag -within", "positive"}},
		{"huge within", []string{"-f", samples, "--within", "99999d"}, []string{"flag -within", "at most"}},
		{"bad format", []string{"-f", samples, "-o", "pdf"}, []string{`invalid value "pdf" for flag -o`, "text, json, csv, ics"}},
		{"bad now", []string{"-f", samples, "--now", "tomorrow"}, []string{"flag -now", "RFC 3339"}},
		{"no input", nil, []string{"no input: give -f PATH or --kubeconfig FILE"}},
		{"both", []string{"-f", samples, "--kubeconfig", "kc"}, []string{"not both"}},
		{"context alone", []string{"-f", samples, "--context", "prod"}, []string{"--context needs --kubeconfig"}},
		{"missing file", []string{"-f", "no/such/dir"}, []string{"no/such/dir"}},
		{"malformed", []string{"-f", fixtures + "/malformed-yaml"}, []string{"malformed-yaml/", ".yaml:"}},
		{"bad kubeconfig", []string{"--kubeconfig", "testdata/agenda/no-such-kubeconfig"}, []string{"guardrails agenda:", "no-such-kubeconfig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"agenda"}, tc.args...)...)
			if r.code != ExitBadInput || r.stdout != "" {
				t.Fatalf("want exit 2 and no output: %s", r)
			}
			wantIn(t, "stderr", r.stderr, r, tc.want...)
		})
	}
}

func TestAgendaHelp(t *testing.T) {
	r := runCLI(t, nil, "agenda", "-h")
	if r.code != ExitOK {
		t.Fatalf("%s", r)
	}
	wantIn(t, "help", r.stdout, r, "-within", "-kubeconfig", "-context", "-o FORMAT", "ics", "martech.ics", "credentials-max-age")
	r = runCLI(t, nil, "help")
	wantIn(t, "usage", r.stdout, r, "agenda ")
}
