package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
)

// JSONResult is one result of `check -o json`.
type JSONResult struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	APIVersion  string `json:"apiVersion"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Policy      string `json:"policy"`
	Enforcement string `json:"enforcement"`
	Severity    string `json:"severity"`
	Field       string `json:"field"`
	Message     string `json:"message"`
	Remediation string `json:"remediation"`
	Exception   string `json:"exception"` // namespace/name of the waiving PolicyException, or ""
}

// JSONReport is the document of `check -o json`.
type JSONReport struct {
	Results []JSONResult `json:"results"`
	Skipped []Skipped    `json:"skipped,omitempty"`
	Summary Summary      `json:"summary"`
}

// jsonArray writes the elements of a JSON array as they come, indented as
// json.MarshalIndent would at depth.
type jsonArray struct {
	out    *bufio.Writer
	indent string // of the elements
	n      int    // elements written
}

func newJSONArray(out *bufio.Writer, depth int) *jsonArray {
	return &jsonArray{out: out, indent: strings.Repeat("  ", depth)}
}

func (a *jsonArray) add(v any) error {
	b, err := json.MarshalIndent(v, a.indent, "  ")
	if err != nil {
		return err
	}
	if a.n > 0 {
		a.out.WriteByte(',')
	}
	a.n++
	a.out.WriteString("\n" + a.indent)
	_, err = a.out.Write(b)
	return err
}

// close ends the array (its "[" is the caller's).
func (a *jsonArray) close() {
	if a.n > 0 {
		a.out.WriteString("\n" + a.indent[2:])
	}
	a.out.WriteByte(']')
}

// jsonWriter writes `-o json`: the results as they come, the summary last.
type jsonWriter struct {
	out     *bufio.Writer
	results *jsonArray
	skipped []Skipped
}

// NewJSON writes `-o json`; skipped are the Gatekeeper templates not
// evaluated.
func NewJSON(out io.Writer, skipped ...Skipped) Writer {
	w := &jsonWriter{out: bufio.NewWriter(out), skipped: skipped}
	w.out.WriteString("{\n  \"results\": [")
	w.results = newJSONArray(w.out, 2)
	return w
}

func (w *jsonWriter) Object(o *ObjectReport) error {
	for _, r := range o.Results {
		jr := JSONResult{
			File: o.File, Line: o.Line, APIVersion: o.APIVersion, Kind: o.Kind,
			Namespace: o.Namespace, Name: o.Name, Policy: r.Policy,
			Enforcement: r.Enforcement, Severity: r.Severity, Field: r.Field,
			Message: r.Message, Remediation: r.Remediation,
		}
		if r.Exception != nil {
			jr.Exception = r.Exception.String()
		}
		if err := w.results.add(jr); err != nil {
			return err
		}
	}
	return nil
}

func (w *jsonWriter) End(s Summary) error {
	w.results.close()
	if err := writeSkippedJSON(w.out, w.skipped); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "  ", "  ")
	if err != nil {
		return err
	}
	w.out.WriteString(",\n  \"summary\": ")
	w.out.Write(b)
	w.out.WriteString("\n}\n")
	return w.out.Flush()
}

// JUnit: one testsuite per object, one testcase per policy targeting its
// kind. A deny result is a <failure>, a policy that could not be evaluated
// an <error>; warn, audit and waived results leave the testcase passing
// and are written to its <system-out>; a policy the PlatformStandard
// disables is <skipped>.
