package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/version"
)

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

// Rule is a policy in force as a SARIF Rule.
type Rule struct {
	Info     policy.Info
	Level    string // enforcement after the default standard's overrides
	Disabled bool
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
	index   map[string]int // Rule index by policy name
	results *jsonArray
	skipped []Skipped
}

// NewSARIF writes `-o sarif`: rules are the policies in force, skipped the
// Gatekeeper templates not evaluated.
func NewSARIF(out io.Writer, rules []Rule, skipped ...Skipped) (Writer, error) {
	w := &sarifWriter{out: bufio.NewWriter(out), index: map[string]int{}, skipped: skipped}
	tool := sarifTool{Driver: sarifDriver{
		Name:           "guardrails",
		Version:        version.Version,
		InformationURI: "https://github.com/martech-guardrails/guardrails",
	}}
	for i, r := range rules {
		w.index[r.Info.Name] = i
		full := r.Info.Description
		if full == "" {
			full = r.Info.Title
		}
		tags := []string{"guardrails"}
		if r.Info.Category != "" {
			tags = append(tags, r.Info.Category)
		}
		tool.Driver.Rules = append(tool.Driver.Rules, sarifRule{
			ID:                   r.Info.Name,
			Name:                 r.Info.Name,
			ShortDescription:     sarifText{Text: cmp.Or(r.Info.Title, r.Info.Name)},
			FullDescription:      sarifText{Text: cmp.Or(full, r.Info.Name)},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Level), Enabled: !r.Disabled},
			Properties: sarifRuleProps{
				Tags: tags, Severity: r.Info.Severity, Enforcement: r.Level,
				Targets: r.Info.Targets, Builtin: r.Info.Builtin,
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

func (w *sarifWriter) Object(o *ObjectReport) error {
	for _, r := range o.Results {
		// A result on a rendered child ("<policy> (Deployment/x)") is
		// one of the policy's rule, the child named in the message.
		rule := policy.OfResult(r.Policy)
		i, ok := w.index[rule]
		if !ok {
			continue // every result comes from a policy in force
		}
		subject := o.Kind + " " + nsName(o.Namespace, o.Name)
		if child := strings.TrimPrefix(r.Policy, rule); child != "" {
			subject += child
		}
		var msg string
		if r.Field != "" {
			msg = fmt.Sprintf("%s: %s: %s", subject, r.Field, r.Message)
		} else {
			msg = fmt.Sprintf("%s: %s", subject, r.Message)
		}
		if r.Remediation != "" {
			msg += " Fix: " + r.Remediation
		}
		sr := sarifResult{
			RuleID:    rule,
			RuleIndex: i,
			Level:     sarifLevel(r.Enforcement),
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifAt(o.File, o.Line),
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

func (w *sarifWriter) End(Summary) error {
	w.results.close()
	if err := writeSkippedSARIF(w.out, w.skipped); err != nil {
		return err
	}
	w.out.WriteString("\n    }\n  ]\n}\n")
	return w.out.Flush()
}

// sarifAt is the place of line of file (line 1 when it is not known).
func sarifAt(file string, line int) sarifPhysical {
	return sarifPhysical{
		ArtifactLocation: sarifArtifactLoc{URI: sarifURI(file)},
		Region:           sarifRegion{StartLine: max(line, 1)},
	}
}

// sarifURI is a relative URI reference for a file as given.
func sarifURI(file string) string {
	if file == "" {
		return "cluster"
	}
	return strings.TrimPrefix(filepath.ToSlash(file), "./")
}
