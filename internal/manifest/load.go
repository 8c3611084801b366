package manifest

import "fmt"

// stdinName is the file name of documents read from standard input.
const stdinName = "stdin"

// SuiteFileNames are fixture suites (internal/cli/testcmd_suite.go reads
// them); directory walks skip them because they are not Kubernetes manifests.
var SuiteFileNames = []string{"guardrails-test.yaml", "guardrails-test.yml"}

// Document is one YAML or JSON document of the inputs.
type Document struct {
	File string // as given on the command line, "stdin" for -
	Line int    // 1-based line of the document's first key
	// Object is the document as JSON values (map[string]any, []any,
	// string, int64, float64, bool, nil).
	Object map[string]any

	text      []byte // the document's source
	firstLine int    // line of text's first line in File
	// itemLines are the lines of a List's items, when they are known
	// (see listItemLines).
	itemLines []int
	// checked is the document validated and typed as soon as it was read
	// (see validateTyped); nil when admit is to do it.
	checked *validated
	// foreign is set when the document is held as text only (packForeign).
	foreign *foreign
}

// Pos is "file:line".
func (d *Document) Pos() string { return fmt.Sprintf("%s:%d", d.File, d.Line) }

// itemLine is the line of item i of a List document: its own when known,
// else the List's.
func (d *Document) itemLine(i int) int {
	if i < len(d.itemLines) {
		return d.itemLines[i]
	}
	return d.Line
}

// InputError is bad input: a file that cannot be read, a document that is
// not YAML, an unknown kind of our group, a schema violation, a policy that
// does not compile. Line is 0 when the error concerns the whole file.
type InputError struct {
	File string
	Line int
	Msg  string
}

func (e *InputError) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

func docError(d *Document, format string, args ...any) *InputError {
	return &InputError{File: d.File, Line: d.Line, Msg: fmt.Sprintf(format, args...)}
}
