package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/martech-guardrails/guardrails/internal/manifest"
)

// The paths a suite names (a fixture suite's inputs, standard, vendors and
// policies; a gator suite's template, constraint, object and inventory)
// are relative to the suite file and stay inside its directory, as with
// gator, whose suites are read through an fs.FS: `guardrails test` runs
// suites from repositories it does not trust, and a suite that could name
// ../../secret/kubeconfig or /etc/shadow would print them in a FAIL line.
//
// A path that leaves the directory as written (absolute, or through ..)
// is refused when the suite is read; one that leaves it through a symbolic
// link is refused when it is opened: the suite's files are opened through
// an os.Root on the directory, which follows symbolic links only while
// they stay inside. Either way the run stops with exit 2 and the suite
// line that named the path.

// errOutside is the error of a path that leaves the suite's directory.
var errOutside = errors.New("outside the suite's directory")

// suiteFS is the files of one suite: those under its directory dir (a
// slash-separated name in the file system the suite was found in), under
// the names that file system gives them, so that errors name files as the
// user knows them.
type suiteFS struct {
	fsys fs.FS
	dir  string
	root *os.Root // the directory, on the disk; nil for another fs.FS

	mu      sync.Mutex
	escapes []string // names refused because they left dir
}

// newSuiteFS returns the files under dir in fsys. On the disk (OSFS) they
// are opened through an os.Root; another file system (the embedded
// fixtures) has no symbolic links, and its names are only checked.
func newSuiteFS(fsys fs.FS, dir string) (*suiteFS, error) {
	s := &suiteFS{fsys: fsys, dir: path.Clean(dir)}
	if _, ok := fsys.(manifest.OSFS); ok {
		root, err := os.OpenRoot(filepath.FromSlash(s.dir))
		if err != nil {
			return nil, &manifest.InputError{File: dir, Msg: manifest.CleanPathError(err)}
		}
		s.root = root
	}
	return s, nil
}

func (s *suiteFS) Close() {
	if s.root != nil {
		_ = s.root.Close()
	}
}

// join is the name in fsys of p, a path written in the suite.
func (s *suiteFS) join(p string) string {
	name := path.Join(s.dir, p)
	if name == "-" {
		return "./-" // a file named -, not standard input
	}
	return name
}

// inside reports whether the path p, written in the suite, stays inside
// its directory as written.
func inside(p string) bool {
	p = strings.ReplaceAll(p, "\\", "/")
	if path.IsAbs(p) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return false
	}
	c := path.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}

// rel is name relative to the suite's directory, false when it is not
// under it.
func (s *suiteFS) rel(name string) (string, bool) {
	name = path.Clean(name)
	switch {
	case name == s.dir:
		return ".", true
	case s.dir == ".":
		return name, inside(name)
	case s.dir == "/":
		return strings.TrimPrefix(name, "/"), strings.HasPrefix(name, "/")
	case strings.HasPrefix(name, s.dir+"/"):
		return name[len(s.dir)+1:], true
	}
	return "", false
}

// refuse records an escape and returns its error.
func (s *suiteFS) refuse(op, name string) error {
	s.mu.Lock()
	s.escapes = append(s.escapes, name)
	s.mu.Unlock()
	return &fs.PathError{Op: op, Path: name, Err: errOutside}
}

// rootEscape reports whether err is os.Root's refusal of a path that leaves
// the root (the error is not exported: "path escapes from parent").
func rootEscape(err error) bool {
	var pe *fs.PathError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.As(e, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
			return true
		}
		if e.Error() == "path escapes from parent" {
			return true
		}
	}
	return false
}

func (s *suiteFS) Open(name string) (fs.File, error) {
	rel, ok := s.rel(name)
	if !ok {
		return nil, s.refuse("open", name)
	}
	if s.root == nil {
		return s.fsys.Open(name)
	}
	f, err := s.root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|nonBlock, 0)
	if err != nil {
		if rootEscape(err) {
			return nil, s.refuse("open", name)
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: underlying(err)}
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	// As manifest.OSFS: a FIFO, a device or a socket is not read.
	if m := info.Mode(); !m.IsRegular() && !m.IsDir() {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file (%s)", m.Type())}
	}
	return f, nil
}

// Stat follows symbolic links that stay inside the directory.
func (s *suiteFS) Stat(name string) (fs.FileInfo, error) {
	rel, ok := s.rel(name)
	if !ok {
		return nil, s.refuse("stat", name)
	}
	if s.root == nil {
		return fs.Stat(s.fsys, name)
	}
	info, err := s.root.Stat(filepath.FromSlash(rel))
	if err != nil {
		if rootEscape(err) {
			return nil, s.refuse("stat", name)
		}
		return nil, &fs.PathError{Op: "stat", Path: name, Err: underlying(err)}
	}
	return info, nil
}

// underlying is the error of a *fs.PathError, or err.
func underlying(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err
	}
	return err
}

// takeEscapes returns the names refused since the last call.
func (s *suiteFS) takeEscapes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.escapes
	s.escapes = nil
	return out
}

// suitePath is a path a suite names, with the field and line naming it.
type suitePath struct {
	field string // "inputs[0]", "tests[1].cases[0].object"
	line  int
	path  string
}

// outsideError is the bad-input error of a suite path that leaves the
// suite's directory; via is the file a symbolic link led out from.
func outsideError(suite, dir string, p suitePath, via string) error {
	msg := fmt.Sprintf("%s: %q is outside the suite's directory %s: the paths of a suite are relative to its file and stay in its directory", p.field, p.path, dir)
	if via != "" {
		msg = fmt.Sprintf("%s: %q leads outside the suite's directory %s through the symbolic link %s: the paths of a suite stay in its directory", p.field, p.path, dir, via)
	}
	return &manifest.InputError{File: suite, Line: p.line, Msg: msg}
}

// checkPaths refuses a path that leaves the suite's directory, as written
// or through a symbolic link (Stat through s), and returns the first such
// path's error.
func (s *suiteFS) checkPaths(suite string, paths []suitePath) error {
	for _, p := range paths {
		if !inside(p.path) {
			return outsideError(suite, s.dir, p, "")
		}
		_, _ = s.Stat(s.join(p.path))
		if esc := s.takeEscapes(); len(esc) > 0 {
			return outsideError(suite, s.dir, p, esc[0])
		}
	}
	return nil
}

// escapeError is the error of the names refused while the suite ran,
// naming the path of paths they were reached from; nil when none was.
func (s *suiteFS) escapeError(suite string, paths []suitePath) error {
	esc := s.takeEscapes()
	if len(esc) == 0 {
		return nil
	}
	for _, p := range paths {
		name := s.join(p.path)
		if esc[0] == name || name == "." || strings.HasPrefix(esc[0], name+"/") {
			return outsideError(suite, s.dir, p, esc[0])
		}
	}
	return outsideError(suite, s.dir, suitePath{path: esc[0]}, esc[0])
}

// yamlLines finds the lines of a suite's fields.
type yamlLines struct{ root *yaml.Node }

func newYAMLLines(data []byte) yamlLines {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return yamlLines{}
	}
	return yamlLines{root: doc.Content[0]}
}

// line is the line of the node at keys (strings for mapping keys, ints for
// sequence indexes), or of the deepest node found on the way; 0 when none.
func (y yamlLines) line(keys ...any) int {
	n := y.root
	line := 0
	for _, k := range keys {
		if n == nil {
			break
		}
		line = n.Line
		var next *yaml.Node
		switch k := k.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		n = next
	}
	if n != nil {
		line = n.Line
	}
	return line
}
