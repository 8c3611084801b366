package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// stdinName is the file name of documents read from standard input.
const stdinName = "stdin"

// suiteFileNames are fixture suites (see suite.go); directory walks skip
// them because they are not Kubernetes manifests.
var suiteFileNames = []string{"guardrails-test.yaml", "guardrails-test.yml"}

// Document is one YAML or JSON document of the inputs.
type Document struct {
	File string // as given on the command line, "stdin" for -
	Line int    // 1-based line of the document's first key
	// Object is the document as JSON values (map[string]any, []any,
	// string, int64, float64, bool, nil).
	Object map[string]any

	text      []byte // the document's source
	firstLine int    // line of text's first line in File
	// checked is the document validated and typed as soon as it was read
	// (see validateTyped); nil when admit is to do it.
	checked *validated
}

// Pos is "file:line".
func (d *Document) Pos() string { return fmt.Sprintf("%s:%d", d.File, d.Line) }

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

// osFS opens paths as the operating system names them (relative to the
// working directory or absolute), so the loader serves real files and the
// embedded fixtures through the same fs.FS code.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(filepath.FromSlash(name)) }

// reader reads manifests from files, directories and standard input.
type reader struct {
	fsys  fs.FS
	stdin io.Reader
	read  bool // stdin was consumed
	// check, when set, is called on every document as soon as its file is
	// parsed, on the goroutine that parsed it (see loadWorld).
	check func(*Document)
}

// readPaths reads every path (a file, a directory walked recursively for
// .yaml, .yml and .json files, or - for standard input) and returns the
// documents in order, with every error found.
func (r *reader) readPaths(paths []string) ([]*Document, []error) {
	var docs []*Document
	var errs []error
	for _, p := range paths {
		d, e := r.readPath(p)
		docs = append(docs, d...)
		errs = append(errs, e...)
	}
	return docs, errs
}

func (r *reader) readPath(p string) ([]*Document, []error) {
	if p == "-" {
		if r.read {
			return nil, []error{&InputError{File: stdinName, Msg: "standard input given twice"}}
		}
		r.read = true
		if r.stdin == nil {
			return nil, nil
		}
		data, err := io.ReadAll(r.stdin)
		if err != nil {
			return nil, []error{&InputError{File: stdinName, Msg: err.Error()}}
		}
		return r.parse(stdinName, data)
	}
	name := filepath.ToSlash(p)
	info, err := fs.Stat(r.fsys, name)
	if err != nil {
		return nil, []error{&InputError{File: p, Msg: cleanPathError(err)}}
	}
	if !info.IsDir() {
		return r.readFile(name)
	}
	var files []string
	errs := walkFiles(r.fsys, name, func(file string) {
		if base := path.Base(file); manifestFile(base) && !slices.Contains(suiteFileNames, base) {
			files = append(files, file)
		}
	})
	docs, ferrs := r.readFiles(files)
	return docs, append(ferrs, errs...)
}

// walkFiles calls visit for every file below the directory root, in
// lexical order, skipping hidden directories, and returns the errors met
// on the way.
func walkFiles(fsys fs.FS, root string, visit func(file string)) []error {
	var errs []error
	err := fs.WalkDir(fsys, root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &InputError{File: file, Msg: cleanPathError(err)})
			return nil
		}
		if d.IsDir() {
			if file != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		visit(file)
		return nil
	})
	if err != nil {
		errs = append(errs, &InputError{File: root, Msg: cleanPathError(err)})
	}
	return errs
}

// readFiles reads and parses files in parallel, on GOMAXPROCS goroutines,
// and returns their documents and errors in the order of files.
func (r *reader) readFiles(files []string) ([]*Document, []error) {
	type parsed struct {
		docs []*Document
		errs []error
	}
	out := make([]parsed, len(files))
	inParallel(len(files), func(i int) bool {
		out[i].docs, out[i].errs = r.readFile(files[i])
		return true
	})
	var docs []*Document
	var errs []error
	for _, p := range out {
		docs = append(docs, p.docs...)
		errs = append(errs, p.errs...)
	}
	return docs, errs
}

func manifestFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func (r *reader) readFile(name string) ([]*Document, []error) {
	data, err := fs.ReadFile(r.fsys, name)
	if err != nil {
		return nil, []error{&InputError{File: name, Msg: cleanPathError(err)}}
	}
	return r.parse(name, data)
}

// parse parses one file's documents and hands each to r.check, if set.
func (r *reader) parse(name string, data []byte) ([]*Document, []error) {
	docs, errs := parseDocuments(name, data)
	if r.check != nil {
		for _, d := range docs {
			r.check(d)
		}
	}
	return docs, errs
}

// cleanPathError drops the operation and path from a *fs.PathError, which
// the caller prints as the position already.
func cleanPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// chunk is the text of one document of a stream and its first line.
type chunk struct {
	text      []byte
	firstLine int
}

// splitDocuments splits a YAML stream at "---" lines, as kubectl does, and
// keeps the line each part starts on.
func splitDocuments(data []byte) []chunk {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []chunk
	cur := chunk{firstLine: 1}
	var buf bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if isSeparator(text) {
			cur.text = slices.Clone(buf.Bytes())
			out = append(out, cur)
			buf.Reset()
			cur = chunk{firstLine: line + 1}
			continue
		}
		buf.WriteString(strings.TrimSuffix(text, "\r"))
		buf.WriteByte('\n')
	}
	cur.text = slices.Clone(buf.Bytes())
	return append(out, cur)
}

// isSeparator reports whether a line separates YAML documents: "---"
// followed by nothing but blanks or a comment.
func isSeparator(line string) bool {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || strings.HasPrefix(rest, "#")
}

// contentLine returns the line of the first line of c that is neither blank
// nor a comment, or 0 when there is none.
func (c chunk) contentLine() int {
	for i, l := range strings.Split(string(c.text), "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && t != "..." && !strings.HasPrefix(t, "%") {
			return c.firstLine + i
		}
	}
	return 0
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// parseDocuments parses a YAML (or JSON) stream into its documents. A
// document that does not parse is an InputError at the document's line; its
// message carries the line of the fault.
func parseDocuments(file string, data []byte) ([]*Document, []error) {
	var docs []*Document
	var errs []error
	for _, c := range splitDocuments(data) {
		d, err := parseChunk(file, c)
		switch {
		case err != nil:
			errs = append(errs, err)
		case d != nil:
			docs = append(docs, d)
		}
	}
	return docs, errs
}

// parseChunk parses one document of file; nil, nil for an empty one.
func parseChunk(file string, c chunk) (*Document, error) {
	start := c.contentLine()
	if start == 0 {
		return nil, nil
	}
	d := &Document{File: file, Line: start, text: c.text, firstLine: c.firstLine}
	j, err := yaml.YAMLToJSONStrict(c.text)
	if err != nil {
		return nil, docError(d, "invalid YAML: %s", yamlMessage(err, c.firstLine))
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, docError(d, "invalid YAML: %v", err)
	}
	switch o := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		d.Object = o
		return d, nil
	}
	return nil, docError(d, "a document must be an object with apiVersion and kind, not a %s", jsonType(v))
}

// yamlMessage makes a YAML parser error one line, with the lines it names
// counted from the start of the file.
func yamlMessage(err error, firstLine int) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
		return fmt.Sprintf("line %d", n+firstLine-1)
	})
	fields := strings.Fields(msg)
	return strings.ReplaceAll(strings.Join(fields, " "), ": line", "; line")
}

func jsonType(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
