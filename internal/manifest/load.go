package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// stdinName is the file name of documents read from standard input.
const stdinName = "stdin"

// SuiteFileNames are fixture suites (see suite.go); directory walks skip
// them because they are not Kubernetes manifests.
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
	// itemLines are the lines of a List's items, when the List was parsed
	// whole (see splitList) and they are known.
	itemLines []int
	// checked is the document validated and typed as soon as it was read
	// (see validateTyped); nil when admit is to do it.
	checked *validated
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

// OSFS opens paths as the operating system names them (relative to the
// working directory or absolute), so the loader serves real files and the
// embedded fixtures through the same fs.FS code. It opens only regular
// files and directories, and never waits to open one: a FIFO, a device or
// a socket (or a symlink to one) is an error, so that whatever reads
// through it (the file cache, the test command) cannot hang on a FIFO or
// read /dev/zero without end.
type OSFS struct{}

func (OSFS) Open(name string) (fs.File, error) {
	f, err := openNoBlock(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if m := info.Mode(); !m.IsRegular() && !m.IsDir() {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: &notRegularError{m}}
	}
	return f, nil
}

// Stat follows symlinks without opening the file (fs.Stat would open it,
// and opening a FIFO waits for a writer).
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(filepath.FromSlash(name)) }

// reader reads manifests from files, directories and standard input,
// within limits: only regular files (and standard input), none larger than
// the file limit, all of them together no larger than the run limit.
type reader struct {
	fsys   fs.FS
	stdin  io.Reader
	read   bool // stdin was consumed
	limits Limits
	used   atomic.Int64 // bytes of the inputs counted against the run limit
	over   bool         // the run limit was passed: nothing more is read
	// check, when set, is called on every document as soon as it is
	// parsed, on the goroutine that parsed it (see Load).
	check func(*Document)
}

// source is one input to read: a file that passed the checks, standard
// input, or an error in its place.
type source struct {
	name  string
	size  int64 // bytes counted in reader.used already
	stdin bool
	err   error
}

// readPaths reads every path (a file, a directory walked recursively for
// .yaml, .yml and .json files, or - for standard input) and returns the
// documents in order, with every error found.
func (r *reader) readPaths(paths []string) ([]*Document, []error) {
	var srcs []source
	for _, p := range paths {
		srcs = append(srcs, r.sources(p)...)
	}
	return r.readSources(srcs)
}

// sources lists the inputs of path p, in order, each checked and sized.
func (r *reader) sources(p string) []source {
	if p == "-" {
		if r.read {
			return []source{{err: &InputError{File: stdinName, Msg: "standard input given twice"}}}
		}
		r.read = true
		if r.stdin == nil {
			return nil
		}
		return []source{{name: stdinName, stdin: true}}
	}
	name := filepath.ToSlash(p)
	info, err := fs.Stat(r.fsys, name)
	if err != nil {
		return []source{{err: &InputError{File: p, Msg: CleanPathError(err)}}}
	}
	if !info.IsDir() {
		return []source{r.sized(name, info)}
	}
	var srcs []source
	errs := WalkFiles(r.fsys, name, func(file string) {
		if base := path.Base(file); !IsManifestFile(base) || slices.Contains(SuiteFileNames, base) {
			return
		}
		info, err := fs.Stat(r.fsys, file) // through symlinks
		if err != nil {
			srcs = append(srcs, source{err: &InputError{File: file, Msg: CleanPathError(err)}})
			return
		}
		srcs = append(srcs, r.sized(file, info))
	})
	for _, err := range errs {
		srcs = append(srcs, source{err: err})
	}
	return srcs
}

// sized checks that file is a regular file within the limits and counts
// its size against the run limit.
func (r *reader) sized(file string, info fs.FileInfo) source {
	fileMax, runMax := r.limits.FileLimit(), r.limits.TotalLimit()
	size := info.Size()
	switch {
	case !info.Mode().IsRegular():
		return source{err: &InputError{File: file, Msg: (&notRegularError{info.Mode()}).Error()}}
	case size > fileMax:
		return source{err: &InputError{File: file, Msg: fmt.Sprintf("the file is %s, more than %s", sizeText(size), limitText("max-file-size", fileMax))}}
	case r.over:
		return source{}
	case r.used.Load()+size > runMax:
		r.over = true
		return source{err: &InputError{File: file, Msg: fmt.Sprintf("with this file the inputs would be %s, more than %s", sizeText(r.used.Load()+size), limitText("max-input-size", runMax))}}
	}
	r.used.Add(size)
	return source{name: file, size: size}
}

// WalkFiles calls visit for every file below the directory root, in
// lexical order, skipping hidden directories, and returns the errors met
// on the way.
func WalkFiles(fsys fs.FS, root string, visit func(file string)) []error {
	var errs []error
	err := fs.WalkDir(fsys, root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &InputError{File: file, Msg: CleanPathError(err)})
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
		errs = append(errs, &InputError{File: root, Msg: CleanPathError(err)})
	}
	return errs
}

// IsManifestFile reports whether a file name is read as a manifest in a
// directory walk: .yaml, .yml and .json.
func IsManifestFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// parsed is one document of the inputs, or an error in its place, as the
// parsing goroutines hand it back.
type parsed struct {
	file string
	c    chunk
	doc  *Document
	err  error
}

// readSources reads the sources in order, document by document, on the
// calling goroutine, and parses the documents (and hands each to r.check)
// on GOMAXPROCS goroutines: a large file is parsed in parallel like many
// small ones, and only the documents being parsed are held as text, not
// whole files. It returns the documents and errors in input order.
func (r *reader) readSources(srcs []source) ([]*Document, []error) {
	var all []*parsed
	jobs := make(chan *parsed, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for p := range jobs {
				p.doc, p.err = parseChunk(p.file, p.c)
				p.c = chunk{}
				if p.doc != nil && r.check != nil {
					r.check(p.doc)
				}
			}
		})
	}
	for _, src := range srcs {
		switch {
		case src.err != nil:
			all = append(all, &parsed{err: src.err})
			continue
		case src.name == "" || r.over:
			continue
		}
		err := r.readSource(src, func(c chunk) {
			p := &parsed{file: src.name, c: c}
			all = append(all, p)
			jobs <- p
		})
		if err != nil {
			all = append(all, &parsed{err: err})
		}
	}
	close(jobs)
	wg.Wait()
	var docs []*Document
	var errs []error
	for _, p := range all {
		switch {
		case p.err != nil:
			errs = append(errs, p.err)
		case p.doc != nil:
			docs = append(docs, p.doc)
		}
	}
	return docs, errs
}

// readSource reads one source, handing each document to emit, and returns
// the error that stopped it: every read error is one, and a document cut
// short by it is not handed on.
func (r *reader) readSource(src source, emit func(chunk)) error {
	in := r.stdin
	if !src.stdin {
		f, err := r.fsys.Open(src.name)
		if err != nil {
			return &InputError{File: src.name, Msg: CleanPathError(err)}
		}
		defer func() { _ = f.Close() }()
		// Checked again on the open file: the path may have been
		// replaced since it was sized.
		info, err := f.Stat()
		if err != nil {
			return &InputError{File: src.name, Msg: CleanPathError(err)}
		}
		if !info.Mode().IsRegular() {
			return &InputError{File: src.name, Msg: (&notRegularError{info.Mode()}).Error()}
		}
		in = f
	}
	lr := &limitedReader{r: in, reserved: src.size, fileMax: r.limits.FileLimit(), runMax: r.limits.TotalLimit(), used: &r.used}
	dr := newDocReader(lr)
	for {
		c, err := dr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var se *sizeError
			if errors.As(err, &se) && strings.Contains(se.msg, "max-input-size") {
				r.over = true
			}
			return &InputError{File: src.name, Msg: CleanPathError(err)}
		}
		emit(c)
	}
}

// CleanPathError drops the operation and path from a *fs.PathError, which
// the caller prints as the position already.
func CleanPathError(err error) string {
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
	// list and index name the List the chunk is item index of, if it is
	// one (see splitList); seq, that text is the item as it is in the
	// List's text, a block sequence of one entry: the item is the entry.
	list  string
	index int
	seq   bool
	// itemLines are the lines of the items of a List not split into its
	// items, when they are known.
	itemLines []int
}

// splitDocuments splits a YAML stream at "---" lines, as kubectl does, and
// keeps the line each part starts on; a List document is split into its
// items where it can be (see splitList).
func splitDocuments(data []byte) []chunk {
	dr := newDocReader(bytes.NewReader(data))
	var out []chunk
	for {
		c, err := dr.next()
		if err != nil { // io.EOF: a bytes.Reader fails in no other way
			return out
		}
		out = append(out, c)
	}
}

// docReader reads a YAML (or JSON) stream one document at a time, however
// long its lines, and counts lines as it goes.
type docReader struct {
	br      *bufio.Reader
	line    int     // lines read
	started bool    // the stream's start (and a BOM there) was read
	done    bool    // the last document was returned
	items   []chunk // the rest of a List's items, returned first
	whole   bool    // keep Lists whole (FuzzSplitDocuments compares)
}

var bom = []byte("\xef\xbb\xbf")

func newDocReader(r io.Reader) *docReader {
	return &docReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next document or List item, io.EOF after the last, or
// the error that stopped the reading.
func (s *docReader) next() (chunk, error) {
	if len(s.items) > 0 {
		c := s.items[0]
		s.items[0] = chunk{}
		s.items = s.items[1:]
		return c, nil
	}
	if s.done {
		return chunk{}, io.EOF
	}
	if !s.started {
		s.started = true
		b, err := s.br.Peek(len(bom))
		if err != nil && err != io.EOF {
			return chunk{}, err
		}
		if bytes.Equal(b, bom) {
			_, _ = s.br.Discard(len(bom))
		}
	}
	first := s.line + 1
	var doc []byte
	for {
		start := len(doc)
		var ok bool
		var err error
		if doc, ok, err = s.readLine(doc); err != nil {
			return chunk{}, err
		}
		if !ok {
			s.done = true
			return s.finish(doc, first), nil
		}
		if isSeparator(doc[start:]) {
			return s.finish(doc[:start], first), nil
		}
		doc = append(doc, '\n')
	}
}

// readLine appends the stream's next line, without its line break and
// carriage returns, to buf; ok is false at the end of the stream.
func (s *docReader) readLine(buf []byte) (_ []byte, ok bool, _ error) {
	start := len(buf)
	for {
		b, err := s.br.ReadSlice('\n')
		buf = append(buf, b...)
		switch err {
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == start {
				return buf, false, nil
			}
		case nil:
		default:
			return buf[:start], false, err
		}
		s.line++
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		// As bufio.ScanLines, then once more.
		for range 2 {
			if len(buf) > start {
				buf = bytes.TrimSuffix(buf, []byte("\r"))
			}
		}
		return buf, true, nil
	}
}

// finish makes a document read into a chunk, or into its items.
func (s *docReader) finish(doc []byte, first int) chunk {
	c := chunk{text: doc, firstLine: first}
	if s.whole {
		return c
	}
	items, lines, ok := splitList(c)
	if !ok {
		c.itemLines = lines
		return c
	}
	s.items = items[1:]
	return items[0]
}

// isSeparator reports whether a line separates YAML documents: "---"
// followed by nothing but blanks or a comment.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// contentLine returns the line of the first line of c that is neither blank
// nor a comment, or 0 when there is none; for a List item, the item's first
// line then.
func (c chunk) contentLine() int {
	text := c.text
	if c.seq {
		// The item's first line, unless it holds only its dash.
		l, rest, _ := bytes.Cut(text, []byte("\n"))
		if t := bytes.TrimSpace(bytes.TrimLeft(l, " ")[1:]); len(t) > 0 && t[0] != '#' {
			return c.firstLine
		}
		if _, line := firstContent(rest); line >= 0 {
			return c.firstLine + 1 + line
		}
		return c.firstLine
	}
	if _, line := firstContent(text); line >= 0 {
		return c.firstLine + line
	}
	if c.list != "" {
		return c.firstLine
	}
	return 0
}

// firstContent returns the offset and the index of the first line of text
// that is neither blank nor a comment (nor a directive or a document end
// marker), or -1, -1.
func firstContent(text []byte) (offset, line int) {
	for rest := text; len(rest) > 0; line++ {
		l, next, _ := bytes.Cut(rest, []byte("\n"))
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' && t[0] != '%' && string(t) != "..." {
			return len(text) - len(rest), line
		}
		rest = next
	}
	return -1, -1
}

// splitList splits a List document (kind: List or *List, with items) into
// its items, each a chunk of its own at its own lines, so that the items
// of a large List are parsed and validated in parallel, one by one,
// like the documents of a multi-document file, rather
// than as one document. The items are cut out of the text, YAML or JSON,
// without parsing it whole; where that cannot be done safely (anchors and
// aliases, a quoted or flow scalar continued left of the items, no List
// after all, anything unusual) ok is false and the document is parsed
// whole, as before; lines are then the items' lines when they are known.
func splitList(c chunk) (items []chunk, lines []int, ok bool) {
	off, _ := firstContent(c.text)
	if off < 0 {
		return nil, nil, false
	}
	if t := bytes.TrimLeft(c.text[off:], " \t"); t[0] == '{' {
		if !bytes.Contains(t, []byte(`"items"`)) || !onlyComments(c.text[:off]) {
			return nil, nil, false
		}
		items, ok := splitJSONList(c, len(c.text)-len(t))
		return items, nil, ok
	}
	if !bytes.HasPrefix(c.text, []byte("items:")) && !bytes.Contains(c.text, []byte("\nitems:")) {
		return nil, nil, false
	}
	return splitYAMLList(c)
}

// listWrapper reports whether text, a List document without its items
// (items: null), is one whose items admit would take.
func listWrapper(text []byte) (kind string, ok bool) {
	j, err := yaml.YAMLToJSONStrict(text)
	if err != nil {
		return "", false
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil || m == nil {
		return "", false
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ = m["kind"].(string)
	items, hasItems := m["items"]
	if apiVersion == "" || !strings.HasSuffix(kind, "List") || !hasItems || items != nil {
		return "", false
	}
	if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
		return "", false
	}
	return kind, true
}

// splitYAMLList splits a block-style YAML List: a top-level items: key at
// column 0 whose value is a block sequence. It scans the text line by line
// as far as needed to tell where each item starts (see yamlScan) and
// checks the rest of the document (the List without its items) is a List.
func splitYAMLList(c chunk) (items []chunk, lines []int, ok bool) {
	const (
		before = iota // the items: key is yet to come
		key           // after it, before the first item
		inItems
		after
	)
	phase, col := before, -1     // col: the column of the items' dashes
	var starts, startLines []int // offset and line of each item's first line
	end := 0                     // offset after the last item
	safe := true                 // the items can be cut out of the text
	s := yamlScan{block: -1, plain: -1}
	for off, line := 0, c.firstLine; off < len(c.text); line++ {
		l, _, _ := bytes.Cut(c.text[off:], []byte("\n"))
		next := off + len(l) + 1
		ind := indentOf(l)
		blank := ind == len(l)
		open := s.quote != 0 || s.flow > 0
		if !open && s.inBlock(ind, blank) {
			off = next
			continue
		}
		if isMarker(l) {
			return nil, nil, false
		}
		switch {
		case open:
			if phase == inItems && !blank && ind <= col {
				safe = false // a continuation left of the items
			}
		case blank || l[ind] == '#':
		case phase == before && ind == 0 && isItemsKey(l):
			phase = key
		case phase == key && isDash(l, ind):
			phase, col = inItems, ind
			starts, startLines = append(starts, off), append(startLines, line)
		case phase == key:
			return nil, nil, false // items is not a block sequence
		case phase == inItems && ind == col && isDash(l, ind):
			starts, startLines = append(starts, off), append(startLines, line)
		case phase == inItems && ind <= col:
			phase, end = after, off
		case phase == after && ind == 0 && isItemsKey(l):
			return nil, nil, false // twice: the YAML parser reports it
		}
		s.scanLine(l, ind)
		off = next
	}
	switch phase {
	case before, key:
		return nil, nil, false
	case inItems:
		end = len(c.text)
	}
	if s.quote != 0 || s.flow > 0 {
		return nil, nil, false
	}
	cut := func(i int) chunk {
		from, to := starts[i], end
		if i+1 < len(starts) {
			to = starts[i+1]
		}
		// The item with its dash, so that its lines mean what they
		// mean in the List: an entry of a sequence at column col.
		return chunk{text: bytes.Clone(c.text[from:to]), firstLine: startLines[i], index: i, seq: true}
	}
	if !safe {
		return nil, nil, false
	}
	// Every byte is in the wrapper or an item: the comments between
	// items: and the first item go with the wrapper.
	wrapper := slices.Concat(c.text[:starts[0]], c.text[end:])
	kind, isList := listWrapper(wrapper)
	if !isList {
		return nil, nil, false
	}
	items = make([]chunk, len(starts))
	for i := range starts {
		items[i] = cut(i)
		items[i].list = kind
	}
	if s.anchors {
		// An alias in one item may name an anchor in another: the List
		// is parsed whole, its items known to be at these lines.
		for _, it := range items {
			lines = append(lines, it.contentLine())
		}
		return nil, lines, false
	}
	return items, nil, true
}

func indentOf(l []byte) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// isItemsKey reports whether l is "items:" with no value on the line.
func isItemsKey(l []byte) bool {
	rest, ok := bytes.CutPrefix(l, []byte("items:"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || rest[0] == '#'
}

// isDash reports whether l has a block sequence entry at column ind.
func isDash(l []byte, ind int) bool {
	return ind < len(l) && l[ind] == '-' && (ind+1 == len(l) || l[ind+1] == ' ' || l[ind+1] == '\t')
}

// isMarker reports whether l is a directive or a document marker, which
// splitting the text around would change the meaning of.
func isMarker(l []byte) bool {
	if len(l) > 0 && l[0] == '%' {
		return true
	}
	for _, m := range []string{"---", "..."} {
		if rest, ok := bytes.CutPrefix(l, []byte(m)); ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return false
}

// yamlScan follows a YAML document line by line, as far as splitting a
// List needs: whether a line is inside a quoted scalar or a flow
// collection begun on an earlier line, inside a block scalar, or a
// continuation of a plain scalar, and whether there are anchors. Where it
// is unsure it errs towards "inside", which at worst makes splitList
// parse the document whole.
type yamlScan struct {
	quote    byte // '"' or '\'' inside a quoted scalar
	flow     int  // depth of flow collections
	token    bool // in a flow collection: at the start of a node
	block    int  // inside a block scalar whose parent node is at this column, or -1
	blockInd int  // the block scalar's indentation, 0 until known
	plain    int  // a plain scalar may continue on lines indented past this column, or -1
	anchors  bool // an anchor or alias was seen
}

// inBlock reports whether a line indented by ind (blank: nothing else) is
// content of the block scalar begun above, ending it if not.
func (s *yamlScan) inBlock(ind int, blank bool) bool {
	switch {
	case s.block < 0:
		return false
	case blank:
		return true
	case s.blockInd == 0 && ind > s.block:
		s.blockInd = ind
		return true
	case s.blockInd > 0 && ind >= s.blockInd:
		return true
	}
	s.block, s.blockInd = -1, 0
	return false
}

func isFlowIndicator(b byte) bool { return b == ',' || b == '[' || b == ']' || b == '{' || b == '}' }

func isBlankAt(l []byte, i int) bool { return i >= len(l) || l[i] == ' ' || l[i] == '\t' }

// scanLine follows one line (without its line break), indented by ind.
func (s *yamlScan) scanLine(l []byte, ind int) {
	if ind == len(l) {
		return // a blank line changes nothing
	}
	p := 0
	token := true // at the start of a node
	switch {
	case s.quote != 0:
		token = false // resumed below
	case s.flow > 0:
		token = s.token
	case s.plain >= 0 && ind > s.plain && ind < len(l) && l[ind] != '#':
		// The continuation of a plain scalar: text up to ": " or " #".
		p = s.scanPlain(l, ind)
		token = false
	default:
		s.plain = -1
	}
	parent, keyCol := -1, -1
	plainEnd := false // the line ends in a plain scalar
	for p < len(l) {
		if s.quote != 0 {
			p = s.scanQuoted(l, p)
			continue
		}
		ch := l[p]
		if ch == ' ' || ch == '\t' {
			p++
			continue
		}
		if ch == '#' && (p == 0 || l[p-1] == ' ' || l[p-1] == '\t') {
			plainEnd = false
			break
		}
		plainEnd = false
		switch {
		case token && (ch == '"' || ch == '\''):
			s.quote, keyCol = ch, p
			p++
			token = false
		case token && (ch == '&' || ch == '*' || ch == '!'):
			s.anchors = s.anchors || ch != '!'
			for p < len(l) && !isBlankAt(l, p) && (s.flow == 0 || !isFlowIndicator(l[p])) {
				p++
			}
		case token && (ch == '[' || ch == '{'):
			s.flow++
			p++
		case s.flow > 0 && (ch == ']' || ch == '}'):
			s.flow--
			p++
			token = false
		case s.flow > 0 && ch == ',':
			p++
			token = true
		case token && s.flow == 0 && (ch == '|' || ch == '>'):
			if parent < 0 {
				parent = ind
			}
			s.block, s.blockInd = parent, 0
			s.plain = -1
			return
		case (ch == '-' && s.flow == 0 || ch == '?') && token && isBlankAt(l, p+1):
			parent = p
			p++
		case ch == ':' && (isBlankAt(l, p+1) || s.flow > 0 && (isFlowIndicator(l[p+1]) || !token)):
			parent = keyCol
			if parent < 0 {
				parent = p
			}
			p++
			token = true
		default:
			if token {
				keyCol = p
			}
			p = s.scanPlain(l, p)
			token = false
			plainEnd = p == len(l)
		}
	}
	s.token = token
	if s.flow == 0 && s.quote == 0 && plainEnd {
		// A plain value may go on on lines indented past its parent.
		if parent < 0 {
			parent = ind
		}
		s.plain = parent
	} else if s.flow == 0 && s.quote == 0 {
		s.plain = -1
	}
}

// scanPlain returns the end of the plain scalar at l[p:].
func (s *yamlScan) scanPlain(l []byte, p int) int {
	for p++; p < len(l); p++ {
		switch ch := l[p]; {
		case ch == ':' && (isBlankAt(l, p+1) || s.flow > 0 && isFlowIndicator(l[p+1])):
			return p
		case ch == '#' && (l[p-1] == ' ' || l[p-1] == '\t'):
			return p
		case s.flow > 0 && isFlowIndicator(ch):
			return p
		}
	}
	return p
}

// scanQuoted returns the end of the quoted scalar s is in, at l[p:], or
// len(l) when it goes on on the next line.
func (s *yamlScan) scanQuoted(l []byte, p int) int {
	for ; p < len(l); p++ {
		switch {
		case s.quote == '"' && l[p] == '\\':
			p++
		case l[p] == s.quote && s.quote == '\'' && p+1 < len(l) && l[p+1] == '\'':
			p++
		case l[p] == s.quote:
			s.quote = 0
			return p + 1
		}
	}
	return len(l)
}

// splitJSONList splits a JSON List (from offset start of c.text, the
// document's opening brace) into its items, when each starts on a line of
// its own (the file cache tells documents apart by line).
func splitJSONList(c chunk, start int) ([]chunk, bool) {
	data := c.text[start:]
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	seen := map[string]bool{}
	var spans [][2]int
	arrStart, arrEnd := -1, -1
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey || seen[key] {
			return nil, false // duplicates: the YAML parser reports them
		}
		seen[key] = true
		if key != "items" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, false
			}
			continue
		}
		from := int(dec.InputOffset())
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, false
		}
		arrStart = from + bytes.IndexByte(data[from:], '[')
		for dec.More() {
			at := int(dec.InputOffset())
			for at < len(data) && (data[at] == ' ' || data[at] == '\t' || data[at] == '\r' || data[at] == '\n' || data[at] == ',') {
				at++
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, false
			}
			spans = append(spans, [2]int{at, int(dec.InputOffset())})
		}
		if t, err := dec.Token(); err != nil || t != json.Delim(']') {
			return nil, false
		}
		arrEnd = int(dec.InputOffset())
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if arrStart < 0 || len(spans) == 0 || !onlyComments(data[dec.InputOffset():]) {
		return nil, false
	}
	kind, isList := listWrapper(slices.Concat(data[:arrStart], []byte("null"), data[arrEnd:]))
	if !isList {
		return nil, false
	}
	items := make([]chunk, len(spans))
	line, counted := c.firstLine, 0
	for i, sp := range spans {
		line += bytes.Count(c.text[counted:start+sp[0]], []byte("\n"))
		counted = start + sp[0]
		if i > 0 && line == items[i-1].firstLine {
			return nil, false
		}
		items[i] = chunk{text: bytes.Clone(data[sp[0]:sp[1]]), firstLine: line, list: kind, index: i}
	}
	return items, true
}

// onlyComments reports whether text holds nothing but blanks and YAML
// comments.
func onlyComments(text []byte) bool {
	for _, l := range bytes.Split(text, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// ParseDocuments parses a YAML (or JSON) stream into its documents. A
// document that does not parse is an InputError at the document's line; its
// message carries the line of the fault.
func ParseDocuments(file string, data []byte) ([]*Document, []error) {
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
	d := &Document{File: file, Line: start, text: c.text, firstLine: c.firstLine, itemLines: c.itemLines}
	j, err := yaml.YAMLToJSONStrict(c.text)
	if err != nil {
		return nil, docError(d, "invalid YAML: %s", yamlMessage(err, c.firstLine))
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, docError(d, "invalid YAML: %v", err)
	}
	if c.seq {
		entries, ok := v.([]any)
		if !ok || len(entries) != 1 {
			return nil, docError(d, "invalid YAML: %s items[%d] is not one entry of the sequence", c.list, c.index)
		}
		v = entries[0]
	}
	switch o := v.(type) {
	case map[string]any:
		d.Object = o
		return d, nil
	case nil:
		if c.list == "" {
			return nil, nil
		}
	}
	if c.list != "" {
		return nil, docError(d, "%s items[%d] is not an object", c.list, c.index)
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
