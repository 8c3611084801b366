package report

import (
	"bufio"
	"encoding/json"
	"fmt"

	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// Skipped is a Gatekeeper ConstraintTemplate the engine does not evaluate
// (one with only the K8sNativeValidation CEL engine): its constraints are
// not in force, and the reports say so rather than pass in silence.
type Skipped struct {
	Template string `json:"template"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Reason   string `json:"reason"`
}

// Message is "ConstraintTemplate <name> skipped: <reason>".
func (s Skipped) Message() string {
	return fmt.Sprintf("ConstraintTemplate %s skipped: %s", s.Template, s.Reason)
}

// String is "file:line: " and the Message, its control characters quoted:
// the line text output prints.
func (s Skipped) String() string {
	if s.File != "" {
		return Quote(fmt.Sprintf("%s:%d: %s", s.File, s.Line, s.Message()))
	}
	return Quote(s.Message())
}

// writeSkippedJSON writes `"skipped": [...],` of -o json, nothing when
// none was skipped.
func writeSkippedJSON(out *bufio.Writer, skipped []Skipped) error {
	if len(skipped) == 0 {
		return nil
	}
	b, err := json.MarshalIndent(skipped, "  ", "  ")
	if err != nil {
		return err
	}
	out.WriteString(",\n  \"skipped\": ")
	_, err = out.Write(b)
	return err
}

type sarifInvocation struct {
	ExecutionSuccessful            bool                `json:"executionSuccessful"`
	ToolConfigurationNotifications []sarifNotification `json:"toolConfigurationNotifications"`
}

type sarifNotification struct {
	Descriptor sarifDescriptor `json:"descriptor"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations,omitempty"`
}

type sarifDescriptor struct {
	ID string `json:"id"`
}

// writeSkippedSARIF writes the run's invocation with a note for each
// skipped template (SARIF's toolConfigurationNotifications), nothing when
// none was skipped.
func writeSkippedSARIF(out *bufio.Writer, skipped []Skipped) error {
	if len(skipped) == 0 {
		return nil
	}
	inv := sarifInvocation{ExecutionSuccessful: true}
	for _, s := range skipped {
		n := sarifNotification{
			Descriptor: sarifDescriptor{ID: gatekeeper.TemplateKey(s.Template)},
			Level:      "note",
			Message:    sarifText{Text: s.Message()},
		}
		if s.File != "" {
			n.Locations = []sarifLocation{{PhysicalLocation: sarifAt(s.File, s.Line)}}
		}
		inv.ToolConfigurationNotifications = append(inv.ToolConfigurationNotifications, n)
	}
	b, err := json.MarshalIndent([]sarifInvocation{inv}, "      ", "  ")
	if err != nil {
		return err
	}
	out.WriteString(",\n      \"invocations\": ")
	_, err = out.Write(b)
	return err
}
