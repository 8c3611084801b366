package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/version"
)

// jsonResult is one result of `check -o json`.
type jsonResult struct {
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

type jsonReport struct {
	Results []jsonResult `json:"results"`
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
}

func newJSONWriter(out io.Writer) *jsonWriter {
	w := &jsonWriter{out: bufio.NewWriter(out)}
	w.out.WriteString("{\n  \"results\": [")
	w.results = newJSONArray(w.out, 2)
	return w
}

func (w *jsonWriter) object(o *ObjectReport) error {
	for _, r := range o.Results {
		jr := jsonResult{
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

func (w *jsonWriter) end(s Summary) error {
	w.results.close()
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

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	File       string          `xml:"file,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// junitSuiteOf is the testsuite of one object.
func junitSuiteOf(o *ObjectReport) junitSuite {
	s := junitSuite{Name: o.Ref(), File: o.File, Properties: []junitProperty{
		{Name: "file", Value: o.File},
		{Name: "line", Value: strconv.Itoa(o.Line)},
		{Name: "apiVersion", Value: o.APIVersion},
		{Name: "kind", Value: o.Kind},
		{Name: "namespace", Value: o.Namespace},
		{Name: "name", Value: o.Name},
		{Name: "outcome", Value: o.Outcome()},
	}}
	names := slices.Clone(o.Policies)
	for _, r := range o.Results {
		if !slices.Contains(names, r.Policy) {
			names = append(names, r.Policy)
		}
	}
	for _, name := range names {
		c := junitCase{Name: name, Classname: o.Ref(), File: o.File, Line: o.Line}
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
			case r.Enforcement == outcomeDeny:
				denies = append(denies, text)
				firstDeny = cmpOr(firstDeny, shortText(r))
			case r.Enforcement == outcomeError:
				errs = append(errs, text)
				firstErr = cmpOr(firstErr, shortText(r))
			default:
				notes = append(notes, r.Enforcement+": "+text)
			}
		}
		if len(denies) > 0 {
			c.Failure = &junitMessage{Type: "deny", Message: firstDeny, Text: strings.Join(denies, "\n")}
			s.Failures++
		}
		if len(errs) > 0 {
			c.Error = &junitMessage{Type: "error", Message: firstErr, Text: strings.Join(errs, "\n")}
			s.Errors++
		}
		c.SystemOut = strings.Join(notes, "\n")
		s.Cases = append(s.Cases, c)
	}
	for _, name := range o.Disabled {
		s.Cases = append(s.Cases, junitCase{Name: name, Classname: o.Ref(), File: o.File, Line: o.Line,
			Skipped: &junitMessage{Message: "disabled by the PlatformStandard in force"}})
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
	totals junitSuites // Suites stays empty: they are in the spool
}

func newJUnitWriter(out io.Writer) *junitWriter {
	sp := newSpool("guardrails-junit-*.xml")
	enc := xml.NewEncoder(sp)
	enc.Indent("  ", "  ")
	return &junitWriter{out: out, spool: sp, enc: enc, totals: junitSuites{Name: "guardrails check"}}
}

func (w *junitWriter) object(o *ObjectReport) error {
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

func (w *junitWriter) end(Summary) error {
	defer w.spool.close()
	if err := w.enc.Flush(); err != nil {
		return err
	}
	// The opening element as junitSuites's attributes encode it.
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

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level   string `json:"level"`
	Enabled bool   `json:"enabled"`
}

type sarifRuleProps struct {
	Tags        []string `json:"tags"`
	Severity    string   `json:"severity"`
	Enforcement string   `json:"enforcement"`
	Targets     []string `json:"targets"`
	Builtin     bool     `json:"builtin"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   map[string]string  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical     `json:"physicalLocation"`
	LogicalLocations []sarifLogicalLoc `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           sarifRegion      `json:"region"`
}

type sarifArtifactLoc struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLoc struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// rule is a policy in force as a SARIF rule.
type rule struct {
	info     policy.PolicyInfo
	level    string // enforcement after the default standard's overrides
	disabled bool
}

// rules lists every policy in force, with the enforcement the default
// PlatformStandard (or --standard) gives it.
func rules(ctx context.Context, eng *policy.Engine, w *World) []rule {
	std := w.standardFor(ctx, "")
	var out []rule
	for _, p := range eng.Policies() {
		set := policy.SettingFor(std, p)
		out = append(out, rule{info: p, level: set.Enforcement, disabled: set.Disabled})
	}
	return out
}

// sarifLevel maps an enforcement to a SARIF level.
func sarifLevel(enforcement string) string {
	switch enforcement {
	case string(v1alpha1.EnforcementDeny), policy.EnforcementError:
		return "error"
	case string(v1alpha1.EnforcementWarn):
		return "warning"
	case string(v1alpha1.EnforcementAudit):
		return "note"
	}
	return "none"
}

// sarifWriter writes `-o sarif`: one run, its rules (every policy in
// force) first, then the results as they come.
type sarifWriter struct {
	out     *bufio.Writer
	index   map[string]int // rule index by policy name
	results *jsonArray
}

func newSARIFWriter(out io.Writer, rules []rule) (*sarifWriter, error) {
	w := &sarifWriter{out: bufio.NewWriter(out), index: map[string]int{}}
	tool := sarifTool{Driver: sarifDriver{
		Name:           "guardrails",
		Version:        version.Version,
		InformationURI: "https://github.com/martech-guardrails/guardrails",
	}}
	for i, r := range rules {
		w.index[r.info.Name] = i
		full := r.info.Description
		if full == "" {
			full = r.info.Title
		}
		tags := []string{"guardrails"}
		if r.info.Category != "" {
			tags = append(tags, r.info.Category)
		}
		tool.Driver.Rules = append(tool.Driver.Rules, sarifRule{
			ID:                   r.info.Name,
			Name:                 r.info.Name,
			ShortDescription:     sarifText{Text: cmpOr(r.info.Title, r.info.Name)},
			FullDescription:      sarifText{Text: cmpOr(full, r.info.Name)},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.level), Enabled: !r.disabled},
			Properties: sarifRuleProps{
				Tags: tags, Severity: r.info.Severity, Enforcement: r.level,
				Targets: r.info.Targets, Builtin: r.info.Builtin,
			},
		})
	}
	schema, _ := json.Marshal(sarifSchema)
	t, err := json.MarshalIndent(tool, "      ", "  ")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w.out, "{\n  \"$schema\": %s,\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": %s,\n      \"results\": [", schema, t)
	w.results = newJSONArray(w.out, 4)
	return w, nil
}

func (w *sarifWriter) object(o *ObjectReport) error {
	for _, r := range o.Results {
		i, ok := w.index[r.Policy]
		if !ok {
			continue // every result comes from a policy in force
		}
		var msg string
		if r.Field != "" {
			msg = fmt.Sprintf("%s %s: %s: %s", o.Kind, nsName(o.Namespace, o.Name), r.Field, r.Message)
		} else {
			msg = fmt.Sprintf("%s %s: %s", o.Kind, nsName(o.Namespace, o.Name), r.Message)
		}
		if r.Remediation != "" {
			msg += " Fix: " + r.Remediation
		}
		sr := sarifResult{
			RuleID:    r.Policy,
			RuleIndex: i,
			Level:     sarifLevel(r.Enforcement),
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{
					ArtifactLocation: sarifArtifactLoc{URI: sarifURI(o.File)},
					Region:           sarifRegion{StartLine: max(o.Line, 1)},
				},
				LogicalLocations: []sarifLogicalLoc{{
					Name:               o.Name,
					FullyQualifiedName: o.Ref(),
					Kind:               "resource",
				}},
			}},
			Properties: map[string]string{"severity": r.Severity, "enforcement": r.Enforcement, "field": r.Field},
		}
		if r.Waived() {
			sr.Suppressions = []sarifSuppression{{
				Kind:   "external",
				Status: "accepted",
				Justification: fmt.Sprintf("PolicyException %s until %s", r.Exception,
					r.Exception.ExpiresAt.UTC().Format(time.RFC3339)),
			}}
		}
		if err := w.results.add(sr); err != nil {
			return err
		}
	}
	return nil
}

func (w *sarifWriter) end(Summary) error {
	w.results.close()
	w.out.WriteString("\n    }\n  ]\n}\n")
	return w.out.Flush()
}

// sarifURI is a relative URI reference for a file as given.
func sarifURI(file string) string {
	if file == "" {
		return "cluster"
	}
	return strings.TrimPrefix(filepath.ToSlash(file), "./")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// spool holds bytes to be copied out later: in a temporary file, so that a
// long report does not sit in memory, or in memory when no file can be
// made.
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
