package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// textWriter writes the results grouped per object, then the summary line.
type textWriter struct{ out *bufio.Writer }

// NewText writes the default `-o text`.
func NewText(out io.Writer) Writer { return &textWriter{out: bufio.NewWriter(out)} }

func (w *textWriter) Object(o *ObjectReport) error {
	if len(o.Results) == 0 {
		return nil
	}
	b := w.out
	fmt.Fprintf(b, "%s: %s %s\n", Quote(o.Pos()), Quote(o.Kind), Quote(nsName(o.Namespace, o.Name)))
	for _, r := range o.Results {
		label := strings.ToUpper(r.Enforcement)
		if r.Waived() {
			label = "WAIVED"
		}
		msg := r.Message
		if r.Field != "" {
			msg = r.Field + ": " + msg
		}
		fmt.Fprintf(b, "  %-6s %s (%s) %s\n", Quote(label), Quote(r.Policy), Quote(r.Severity), Quote(msg))
		if r.Waived() {
			fmt.Fprintf(b, "         waived by PolicyException %s until %s (would be %s)\n",
				Quote(r.Exception.String()), r.Exception.ExpiresAt.UTC().Format(time.RFC3339), Quote(r.Enforcement))
		}
		if r.Remediation != "" {
			fmt.Fprintf(b, "         fix: %s\n", Quote(r.Remediation))
		}
	}
	return b.WriteByte('\n')
}

func (w *textWriter) End(s Summary) error {
	w.out.WriteString(summaryLine(s))
	w.out.WriteByte('\n')
	return w.out.Flush()
}

// summaryLine is e.g. "7 objects: 2 deny, 1 warn, 0 audit, 4 passed".
func summaryLine(s Summary) string {
	line := fmt.Sprintf("%d objects: %d deny, %d warn, %d audit, %d passed", s.Objects, s.Deny, s.Warn, s.Audit, s.Passed)
	if s.Objects == 1 {
		line = strings.Replace(line, "objects", "object", 1)
	}
	if s.Error > 0 {
		line += fmt.Sprintf(", %d error", s.Error)
	}
	if s.Waived > 0 {
		line += fmt.Sprintf(" (%d waived by exceptions)", s.Waived)
	}
	return line
}
