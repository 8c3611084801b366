package agenda

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// Agenda is the items and the window they were chosen in.
type Agenda struct {
	Now    time.Time
	Within time.Duration
	Items  []Item
}

// Overdue counts the overdue items.
func (a *Agenda) Overdue() int {
	n := 0
	for _, it := range a.Items {
		if it.Overdue {
			n++
		}
	}
	return n
}

// When is how the text and the calendar's description show an instant, to
// the minute: the date alone at midnight UTC, else the date and the time
// in UTC. (JSON and CSV give the exact second.)
func When(t time.Time) string {
	t = t.UTC().Truncate(time.Minute)
	if t.Equal(t.Truncate(policy.Day)) {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// Due is "in 12d", "today", or for an overdue item "OVERDUE 3d".
func Due(it Item) string {
	switch {
	case it.Overdue:
		return fmt.Sprintf("OVERDUE %dd", -it.Days)
	case it.Days == 0:
		return "today"
	}
	return fmt.Sprintf("in %dd", it.Days)
}

// CostText is "36000.00 EUR", or "" without a cost.
func CostText(m *Money) string {
	if m == nil {
		return ""
	}
	return m.Amount + " " + m.Currency
}

func where(it Item) string {
	switch {
	case it.Pos != "":
		return it.Pos
	case it.Cluster != "":
		return "cluster " + it.Cluster
	}
	return "cluster"
}

// WriteText writes one aligned line per item, earliest first, and a line
// that says the window and how many items are overdue. Every field that
// comes from the objects is quoted (report.Quote).
func WriteText(w io.Writer, a *Agenda) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(a.Items) > 0 {
		fmt.Fprintln(tw, "WHEN\tDUE\tWHAT\tOBJECT\tWHO\tANNUAL COST\tSOURCE\tSUMMARY")
	}
	for _, it := range a.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			When(it.At), Due(it), it.What, report.Quote(it.Object()), report.Quote(it.Who),
			report.Quote(CostText(it.Cost)), report.Quote(where(it)), report.Quote(it.Summary))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	window := fmt.Sprintf("within %s of %s", Duration(a.Within), a.Now.UTC().Format(time.RFC3339))
	if len(a.Items) == 0 {
		_, err := fmt.Fprintf(w, "No dated decision %s.\n", window)
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d items %s, %d overdue.\n", len(a.Items), window, a.Overdue())
	return err
}

// WriteJSON writes {now, within, items: [...]}.
func WriteJSON(w io.Writer, a *Agenda) error {
	items := a.Items
	if items == nil {
		items = []Item{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Now    string `json:"now"`
		Within string `json:"within"`
		Items  []Item `json:"items"`
	}{a.Now.UTC().Format(time.RFC3339), a.Within.String(), items})
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"at", "due", "overdue", "days", "what", "cluster", "kind", "namespace", "name", "source", "who", "auto_renew", "annual_cost", "currency", "summary"}

// WriteCSV writes a header row and one row per item (RFC 4180).
func WriteCSV(w io.Writer, a *Agenda) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, it := range a.Items {
		auto, amount, currency := "", "", ""
		if it.AutoRenew != nil {
			auto = strconv.FormatBool(*it.AutoRenew)
		}
		if it.Cost != nil {
			amount, currency = it.Cost.Amount, it.Cost.Currency
		}
		if err := cw.Write([]string{
			it.At.UTC().Format(time.RFC3339), Due(it), strconv.FormatBool(it.Overdue), strconv.Itoa(it.Days),
			it.What, it.Cluster, it.Kind, it.Namespace, it.Name, it.Pos, it.Who, auto, amount, currency, it.Summary,
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
