package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// A clean Vendor, then a document that must not go unread: hidden is a
// Vendor with no displayName, which check refuses (exit 2) when it reads it.
const (
	cleanVendor  = "apiVersion: martech.guardrails.dev/v1alpha1\nkind: Vendor\nmetadata: {name: clean}\nspec: {displayName: C, category: crm, status: approved}\n"
	hiddenVendor = "{apiVersion: martech.guardrails.dev/v1alpha1, kind: Vendor, metadata: {name: hidden}, spec: {category: crm, status: approved}}"
)

// Every YAML document of a file is judged, or the file is refused naming
// the line: a document on the separator line, after "--- !!map", after a
// "..." end marker, in a file of \r line endings, used to pass unread
// (exit 0: the YAML-to-JSON step kept the first document of a chunk only).
func TestEveryDocumentIsRead(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"on the separator line", cleanVendor + "--- " + hiddenVendor + "\n", `f.yaml:5: "--- {apiVersion`},
		// kubectl splits at "---#", YAML reads it as text (found by
		// FuzzSplitDocuments in a 5-minute run).
		{"a comment glued to the separator", cleanVendor + "---# the next one\n" + hiddenVendor + "\n", `f.yaml:5: "---# the next one" is a document separator for kubectl and not for YAML`},
		{"after --- !!map", cleanVendor + "--- !!map\n" + hiddenVendor + "\n", `f.yaml:5: "--- !!map"`},
		{"after an end marker", cleanVendor + "...\n" + hiddenVendor + "\n", "f.yaml:1: invalid YAML: line 5: did not find expected <document start>"},
		{"after an end marker and a directive", cleanVendor + "...\n%YAML 1.1\n--- " + hiddenVendor + "\n", "f.yaml:7:"},
		{"carriage returns only", strings.ReplaceAll(cleanVendor+"---\n"+hiddenVendor+"\n", "\n", "\r"), "f.yaml:6: Vendor hidden: spec.displayName: Required value"},
		{"carriage returns and newlines", strings.ReplaceAll(cleanVendor+"---\n"+hiddenVendor+"\n", "\n", "\r\n"), "f.yaml:6: Vendor hidden: spec.displayName: Required value"},
		{"a line separator", strings.TrimSuffix(cleanVendor, "\n") + "\u2028---\u2028" + hiddenVendor + "\n", "f.yaml:1: another YAML document"},
		// A byte-order mark is a document start for the YAML spec and text
		// for go-yaml (found by FuzzSplitDocuments in a 10-second run).
		{"a byte-order mark past the first line", cleanVendor + "---\n\ufeff" + hiddenVendor + "\n", `f.yaml:6: "\ufeff{apiVersion`},
		{"next line", strings.TrimSuffix(cleanVendor, "\n") + "\u0085---\u0085" + hiddenVendor + "\n", "f.yaml:1: another YAML document"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"f.yaml": c.src})
			r := runCLI(t, nil, "check", "-f", filepath.Join(dir, "f.yaml"))
			if r.code != ExitBadInput || !strings.Contains(r.stderr, filepath.Join(dir, c.want)) {
				t.Errorf("want exit 2 and %q\n%s", c.want, r)
			}
		})
	}
}
