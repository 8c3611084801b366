package manifest

// Splitting a stream into documents, as kubectl does: its reader
// (k8s.io/apimachinery/pkg/util/yaml.YAMLReader) splits at lines "---",
// refusing a line that starts with "---" and holds anything else but a
// comment; each document is decoded as kubectl decodes it
// (sigs.k8s.io/yaml). Where the YAML parser would find more than one
// document in what the reader hands over (after a "..." end marker, or at a
// line break other than \n), a real YAML parser counts them, and a second
// document is refused at its line: no document passes unread.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml2 "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// chunk is the text of one document of a stream (each line ended by \n)
// and its first line.
type chunk struct {
	text      []byte
	firstLine int
}

// splitDocuments splits a YAML stream at "---" lines, as kubectl does, and
// keeps the line each part starts on; err is the line that stopped it.
func splitDocuments(data []byte) ([]chunk, error) {
	dr := newDocReader(bytes.NewReader(data))
	var out []chunk
	for {
		c, err := dr.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

// docReader reads a YAML (or JSON) stream one document at a time with
// kubectl's reader, however long its lines, and knows the lines of each.
type docReader struct {
	feed *lineFeeder
	yr   *utilyaml.YAMLReader
}

func newDocReader(r io.Reader) *docReader {
	f := &lineFeeder{br: bufio.NewReaderSize(r, 64<<10)}
	return &docReader{feed: f, yr: utilyaml.NewYAMLReader(bufio.NewReaderSize(f, 64<<10))}
}

// separatorError is a line that starts with "---" and is no separator for
// kubectl's reader: "--- {kind: ...}", "--- !!map". kubectl refuses the
// stream; so does the CLI, at the line, rather than read past a document.
type separatorError struct {
	line int
	text string
	// comment: "---#...", which kubectl's reader takes for a separator
	// and YAML for text (a comment needs a space before its "#").
	comment bool
	// bom: a line, past the file's first, that starts with a byte-order
	// mark, which YAML parsers read differently (a BOM may start any
	// document for the YAML spec; go-yaml reads it as text).
	bom bool
}

func (e *separatorError) Error() string {
	if e.bom {
		return fmt.Sprintf("%q starts with a byte-order mark (U+FEFF), which YAML parsers read differently there: a byte-order mark belongs only at the very start of the file; remove this one", e.text)
	}
	if e.comment {
		return fmt.Sprintf("%q is a document separator for kubectl and not for YAML (a comment after \"---\" needs a space before \"#\"): put \"---\" alone on its line", e.text)
	}
	return fmt.Sprintf("%q is not a document separator (kubectl refuses it too): put \"---\" alone on its line and the document on the next", e.text)
}

// next returns the next document, io.EOF after the last, or the error that
// stopped the reading.
func (s *docReader) next() (chunk, error) {
	text, err := s.yr.Read()
	if err != nil {
		var se utilyaml.YAMLSyntaxError
		if errors.As(err, &se) {
			return chunk{}, &separatorError{line: s.feed.lines, text: string(s.feed.last)}
		}
		return chunk{}, err
	}
	// The reader has taken the document's lines and, unless the stream
	// ended, the separator after it: nothing more (see lineFeeder).
	last := s.feed.lines
	if s.feed.lastSep {
		last--
	}
	// (A chunk of one separator line alone, at the end, would start at
	// line 0: it is empty, at line 1 at least.)
	return chunk{text: text, firstLine: max(last-bytes.Count(text, []byte("\n"))+1, 1)}, nil
}

var bom = []byte("\xef\xbb\xbf")

// lineFeeder hands kubectl's reader the stream one line at a time, so that
// the lines it has taken are the lines read, with every line break made
// \n: \r\n, and a lone \r (old Mac files), which YAML reads as a line break
// and kubectl's reader does not. A byte-order mark at the start is dropped.
type lineFeeder struct {
	br      *bufio.Reader
	started bool
	cr      bool   // the last line ended with \r: a \n next is its end too
	lines   int    // lines handed over, the last one ended or not
	partial bool   // part of a line was handed over
	cur     []byte // the start of the line being handed over
	last    []byte // the start of the last line handed over
	lastSep bool   // the last line starts with "---"
	// bad is a line that kubectl and YAML read differently ("---#"):
	// the stream stops there.
	bad *separatorError
}

const lineHead = 48 // bytes of a line kept for messages

func (f *lineFeeder) Read(p []byte) (int, error) {
	if !f.started {
		f.started = true
		if b, err := f.br.Peek(len(bom)); err == nil && bytes.Equal(b, bom) {
			_, _ = f.br.Discard(len(bom))
		}
	}
	for {
		if f.bad != nil {
			return 0, f.bad
		}
		buf, err := f.br.Peek(max(f.br.Buffered(), 1))
		if len(buf) == 0 {
			if err == io.EOF && f.partial {
				f.endLine()
			}
			return 0, err
		}
		if f.cr {
			f.cr = false
			if buf[0] == '\n' {
				_, _ = f.br.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		if i < 0 || i >= len(p) {
			n := copy(p, buf)
			if i >= 0 && n > i {
				n = i
			}
			_, _ = f.br.Discard(n)
			f.take(p[:n])
			return n, nil
		}
		copy(p, buf[:i])
		p[i] = '\n'
		f.cr = buf[i] == '\r'
		_, _ = f.br.Discard(i + 1)
		f.take(p[:i])
		f.endLine()
		return i + 1, nil
	}
}

// take notes part of the current line handed over.
func (f *lineFeeder) take(b []byte) {
	f.partial = true
	if room := lineHead - len(f.cur); room > 0 {
		f.cur = append(f.cur, b[:min(room, len(b))]...)
	}
}

func (f *lineFeeder) endLine() {
	f.lines++
	f.last = append(f.last[:0], f.cur...)
	f.lastSep = bytes.HasPrefix(f.cur, []byte("---"))
	if f.lastSep && len(f.cur) > 3 && f.cur[3] == '#' {
		f.bad = &separatorError{line: f.lines, text: string(f.cur), comment: true}
	}
	if bytes.HasPrefix(f.cur, bom) {
		f.bad = &separatorError{line: f.lines, text: string(f.cur), bom: true}
	}
	f.cur, f.partial = f.cur[:0], false
}

// contentLine returns the line of the first line of c that is neither blank
// nor a comment, or 0 when there is none.
func (c chunk) contentLine() int {
	if _, line := firstContent(c.text); line >= 0 {
		return c.firstLine + line
	}
	return 0
}

// firstContent returns the offset and the index of the first line of text
// that is neither blank nor a comment (nor a directive, a separator or a
// document end marker), or -1, -1.
func firstContent(text []byte) (offset, line int) {
	for rest := text; len(rest) > 0; line++ {
		l, next, _ := bytes.Cut(rest, []byte("\n"))
		t := bytes.TrimSpace(l)
		// kubectl's reader keeps a first separator line in the document.
		sep := bytes.HasPrefix(l, []byte("---")) && (len(bytes.TrimSpace(l[3:])) == 0 || bytes.TrimSpace(l[3:])[0] == '#')
		if len(t) > 0 && t[0] != '#' && t[0] != '%' && string(t) != "..." && !sep {
			return len(text) - len(rest), line
		}
		rest = next
	}
	return -1, -1
}

// mayHoldMore reports whether the YAML parser may find more than one
// document in text, a document as kubectl's reader splits it: only at a
// line that starts with "..." (a document end) or "%" (a directive), or at
// a line break YAML knows and the reader does not (\r, U+0085, U+2028,
// U+2029; a byte-order mark may hide a marker too).
func mayHoldMore(text []byte) bool {
	for _, s := range []string{"...", "%", "---"} {
		if bytes.HasPrefix(text, []byte(s)) || bytes.Contains(text, []byte("\n"+s)) {
			return true
		}
	}
	for _, s := range []string{"\r", "\u0085", "\u2028", "\u2029", "\ufeff"} {
		if bytes.Contains(text, []byte(s)) {
			return true
		}
	}
	return false
}

// oneDocument refuses a chunk in which the YAML parser finds a second
// document (that kubectl's decoder, which keeps the first, would drop).
func oneDocument(d *Document, c chunk) error {
	if !mayHoldMore(c.text) {
		return nil
	}
	dec := yaml3.NewDecoder(bytes.NewReader(c.text))
	seen := 0
	for {
		var doc yaml3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return docError(d, "invalid YAML: %s", yamlMessage(err, c.firstLine))
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind == yaml3.ScalarNode && doc.Content[0].Tag == "!!null" {
			continue // an empty document
		}
		if seen++; seen < 2 {
			continue
		}
		line := c.firstLine + doc.Content[0].Line - 1
		if bytes.ContainsAny(c.text, "\u0085\u2028\u2029") {
			line = d.Line // the parser counts lines the file does not
		}
		return &InputError{File: d.File, Line: line, Msg: fmt.Sprintf("another YAML document starts here, within the one at line %d: put a line \"---\" before it (kubectl would not read it)", d.Line)}
	}
}

// listItemLines returns the lines of the items of the List document c, by
// the YAML parser's positions (an item's first key, its brace or its
// anchor). nil when they cannot be told.
func listItemLines(c chunk, items int) []int {
	var root yaml3.Node
	if err := yaml3.Unmarshal(c.text, &root); err != nil || len(root.Content) == 0 {
		return nil
	}
	seq := mapValue(root.Content[0], "items")
	if seq == nil || seq.Kind != yaml3.SequenceNode || len(seq.Content) != items {
		return nil
	}
	lines := make([]int, items)
	for i, it := range seq.Content {
		lines[i] = c.firstLine + it.Line - 1
	}
	return lines
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// ParseDocuments parses a YAML (or JSON) stream into its documents. A
// document that does not parse is an InputError at the document's line; its
// message carries the line of the fault.
func ParseDocuments(file string, data []byte) ([]*Document, []error) {
	var docs []*Document
	var errs []error
	chunks, err := splitDocuments(data)
	for _, c := range chunks {
		d, err := parseChunk(file, c)
		switch {
		case err != nil:
			errs = append(errs, err)
		case d != nil:
			docs = append(docs, d)
		}
	}
	if err != nil {
		errs = append(errs, streamError(file, err))
	}
	return docs, errs
}

// streamError is an error that stopped the reading of file.
func streamError(file string, err error) *InputError {
	var se *separatorError
	if errors.As(err, &se) {
		return &InputError{File: file, Line: se.line, Msg: se.Error()}
	}
	return &InputError{File: file, Msg: CleanPathError(err)}
}

// parseChunk parses one document of file; nil, nil for an empty one.
func parseChunk(file string, c chunk) (*Document, error) {
	start := c.contentLine()
	if start == 0 {
		return nil, nil
	}
	d := &Document{File: file, Line: start, text: c.text, firstLine: c.firstLine}
	if err := oneDocument(d, c); err != nil {
		return nil, err
	}
	v, err := decodeYAML(c.text)
	if err != nil {
		return nil, docError(d, "invalid YAML: %s", yamlMessage(err, c.firstLine))
	}
	switch o := v.(type) {
	case map[string]any:
		d.Object = o
		if kind, _ := o["kind"].(string); strings.HasSuffix(kind, "List") {
			if items, ok := o["items"].([]any); ok && len(items) > 0 {
				d.itemLines = listItemLines(c, len(items))
			}
		}
		return d, nil
	case nil:
		return nil, nil
	}
	return nil, docError(d, "a document must be an object with apiVersion and kind, not a %s", jsonType(v))
}

// decodeYAML decodes one document as kubectl does (sigs.k8s.io/yaml, keys
// checked for duplicates), into JSON values: int64 or float64 numbers.
//
// sigs.k8s.io/yaml parses with go.yaml.in/yaml/v2, writes JSON and reads it
// back: a third of the cost of reading our objects. decodeYAML parses with
// the same parser and makes the JSON values in place (jsonValue) when the
// document holds nothing that the JSON round trip would change: string
// keys, valid UTF-8 strings, integers, booleans and nulls. Anything else
// (a float, a number beyond int64, a key that is not a string) takes the
// round trip, so that the values are sigs.k8s.io/yaml's to the bit.
func decodeYAML(text []byte) (any, error) {
	var y any
	if err := yaml2.UnmarshalStrict(text, &y); err != nil {
		return nil, err // as yaml.YAMLToJSONStrict returns it
	}
	if v, ok := jsonValue(y, 0); ok {
		return v, nil
	}
	return decodeYAMLViaJSON(text)
}

// decodeYAMLViaJSON is sigs.k8s.io/yaml's way: YAML to JSON, then JSON
// values.
func decodeYAMLViaJSON(text []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		return nil, err
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// maxDirectDepth bounds jsonValue's recursion: deeper documents take the
// round trip (whose JSON decoder has a depth limit of its own).
const maxDirectDepth = 1000

// jsonValue converts a value of go.yaml.in/yaml/v2 to the JSON value the
// round trip through JSON would give, or reports false when the round
// trip might give anything else.
func jsonValue(y any, depth int) (any, bool) {
	if depth > maxDirectDepth {
		return nil, false
	}
	switch x := y.(type) {
	case nil, bool, int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		// json.Marshal replaces invalid UTF-8.
		return x, utf8.ValidString(x)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			v, ok := jsonValue(it, depth+1)
			if !ok {
				return nil, false
			}
			out[i] = v
		}
		return out, true
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, false // sigs.k8s.io/yaml formats it, maybe into a key already there
			}
			v, ok := jsonValue(it, depth+1)
			if !ok {
				return nil, false
			}
			out[ks] = v
		}
		return out, true
	}
	// float64 (json.Marshal refuses NaN and infinities, and an integral
	// float comes back an int64), uint64, anything else.
	return nil, false
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
