package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/policy"
)

// JUnitSuites is the document of `check -o junit`: the totals over every
// object, then a testsuite per object.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one object: a testcase per policy that applies to it.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	File       string          `xml:"file,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is one fact about a testsuite's object (file, kind, name,
// outcome...).
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one policy on one object: a failure when it denies, an error
// when it could not decide, skipped when the PlatformStandard disables it.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *JUnitMessage `xml:"failure"`
	Error     *JUnitMessage `xml:"error"`
	Skipped   *JUnitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitMessage is a testcase's failure, error or skip: the first message,
// and every message in the text.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// junitSuiteOf is the testsuite of one object.
func junitSuiteOf(o *ObjectReport) JUnitSuite {
	s := JUnitSuite{Name: o.Ref(), File: o.File, Properties: []JUnitProperty{
		{Name: "file", Value: o.File},
		{Name: "line", Value: strconv.Itoa(o.Line)},
		{Name: "apiVersion", Value: o.APIVersion},
		{Name: "kind", Value: o.Kind},
		{Name: "namespace", Value: o.Namespace},
		{Name: "name", Value: o.Name},
		{Name: "outcome", Value: o.Outcome()},
	}}
	names := slices.Clone(o.Policies)
	// A policy with results on rendered children ("<policy> (Deployment/x)")
	// is those testcases, not also a passing one of its own.
	parents := map[string]bool{}
	for _, r := range o.Results {
		if !slices.Contains(names, r.Policy) {
			names = append(names, r.Policy)
		}
		if p := policy.OfResult(r.Policy); p != r.Policy {
			parents[p] = true
		}
	}
	names = slices.DeleteFunc(names, func(name string) bool { return parents[name] })
	for _, name := range names {
		c := JUnitCase{Name: name, Classname: o.Ref(), File: o.File, Line: o.Line}
		var denies, errs, notes []string
		var firstDeny, firstErr string
		for _, r := range o.Results {
			if r.Policy != name {
				continue
			}
			text := resultText(r)
			switch {
			case r.Waived():
				notes = append(notes, fmt.Sprintf("waived %s (PolicyException %s until %s): %s", r.Enforcement, r.Exception, r.Exception.ExpiresAt.UTC().Format(time.RFC3339), text))
			case r.Enforcement == OutcomeDeny:
				denies = append(denies, text)
				firstDeny = cmp.Or(firstDeny, shortText(r))
			case r.Enforcement == OutcomeError:
				errs = append(errs, text)
				firstErr = cmp.Or(firstErr, shortText(r))
			default:
				notes = append(notes, r.Enforcement+": "+text)
			}
		}
		if len(denies) > 0 {
			c.Failure = &JUnitMessage{Type: "deny", Message: firstDeny, Text: strings.Join(denies, "\n")}
			s.Failures++
		}
		if len(errs) > 0 {
			c.Error = &JUnitMessage{Type: "error", Message: firstErr, Text: strings.Join(errs, "\n")}
			s.Errors++
		}
		c.SystemOut = strings.Join(notes, "\n")
		s.Cases = append(s.Cases, c)
	}
	for _, name := range o.Disabled {
		s.Cases = append(s.Cases, JUnitCase{Name: name, Classname: o.Ref(), File: o.File, Line: o.Line,
			Skipped: &JUnitMessage{Message: "disabled by the PlatformStandard in force"}})
		s.Skipped++
	}
	s.Tests = len(s.Cases)
	return s
}

// junitWriter writes `-o junit`. The totals go on the opening
// <testsuites> element, so the suites are spooled (to a temporary file,
// or memory when none can be made) until the last object is judged.
type junitWriter struct {
	out    io.Writer
	spool  *spool
	enc    *xml.Encoder
	suites int
	totals JUnitSuites // Suites stays empty: they are in the spool
}

// NewJUnit writes `-o junit`.
func NewJUnit(out io.Writer) Writer {
	sp := newSpool("guardrails-junit-*.xml")
	enc := xml.NewEncoder(sp)
	enc.Indent("  ", "  ")
	return &junitWriter{out: out, spool: sp, enc: enc, totals: JUnitSuites{Name: "guardrails check"}}
}

func (w *junitWriter) Object(o *ObjectReport) error {
	s := junitSuiteOf(o)
	w.totals.Tests += s.Tests
	w.totals.Failures += s.Failures
	w.totals.Errors += s.Errors
	w.totals.Skipped += s.Skipped
	if w.suites == 0 {
		// The encoder starts every element after its first on a new line.
		if err := w.spool.WriteByte('\n'); err != nil {
			return err
		}
	}
	w.suites++
	return w.enc.EncodeElement(s, xml.StartElement{Name: xml.Name{Local: "testsuite"}})
}

func (w *junitWriter) End(Summary) error {
	defer w.spool.close()
	if err := w.enc.Flush(); err != nil {
		return err
	}
	// The opening element as JUnitSuites's attributes encode it.
	head, err := xml.Marshal(w.totals)
	if err != nil {
		return err
	}
	head = bytes.TrimSuffix(head, []byte("</testsuites>"))
	bw := bufio.NewWriter(w.out)
	bw.WriteString(xml.Header)
	bw.Write(head)
	if err := w.spool.copyTo(bw); err != nil {
		return err
	}
	if w.suites > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}

// resultText is "field: message (fix: remediation)".
func resultText(r policy.Result) string {
	s := shortText(r)
	if r.Remediation != "" {
		s += " (fix: " + r.Remediation + ")"
	}
	return s
}

// shortText is "field: message".
func shortText(r policy.Result) string {
	if r.Field != "" {
		return r.Field + ": " + r.Message
	}
	return r.Message
}

// SARIF 2.1.0, the subset GitHub code scanning and other viewers read.

// spool holds bytes to be copied out later: in a temporary file, so that a
// long report does not sit in memory, or in memory when no file can be
// made. Measured with BenchmarkCheckJUnit (2 cores shared and heavily
// loaded; spool / in memory, two alternating runs): peak heap 36.6, 35.4 /
// 47.0, 53.7 MiB at 2,000 documents and 115, 110 / 170 MiB at 10,000, about
// a third less; time within the noise.
type spool struct {
	f   *os.File
	buf bytes.Buffer
	w   *bufio.Writer
}

func newSpool(pattern string) *spool {
	s := &spool{}
	if f, err := os.CreateTemp("", pattern); err == nil {
		s.f = f
		s.w = bufio.NewWriter(f)
	} else {
		s.w = bufio.NewWriter(&s.buf)
	}
	return s
}

func (s *spool) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *spool) WriteByte(c byte) error { return s.w.WriteByte(c) }

// copyTo writes everything spooled to out.
func (s *spool) copyTo(out io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if s.f == nil {
		_, err := io.Copy(out, &s.buf)
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(out, s.f)
	return err
}

// close removes the temporary file.
func (s *spool) close() {
	if s.f != nil {
		_ = s.f.Close()
		_ = os.Remove(s.f.Name()) // a temporary file: nothing to do if it stays
	}
}
