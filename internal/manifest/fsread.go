package manifest

// Reading the file system: the paths given, directories walked, only
// regular files within the size limits (see limits.go); each source read
// as a stream of documents (split.go) parsed in parallel.

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// OSFS opens paths as the operating system names them (relative to the
// working directory or absolute), so the loader serves real files and the
// embedded fixtures through the same fs.FS code. It opens only regular
// files and directories, and never waits to open one: a FIFO, a device or
// a socket (or a symlink to one) is an error, so that whatever reads
// through it (the file cache, the test command) cannot hang on a FIFO or
// read /dev/zero without end.
type OSFS struct{}

// Open implements fs.FS.
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
// on the way. It is the one directory walk of check, dataflow, policies
// and test. A symbolic link to a directory is followed, as one to a file
// is (and visited by its path through the link); one that leads to a
// directory walked already (a loop, or the same files twice under two
// names) is an error naming it, never skipped without a word.
func WalkFiles(fsys fs.FS, root string, visit func(file string)) []error {
	w := &walker{fsys: fsys, visit: visit}
	w.walk(root, "")
	return w.errs
}

// walker is one WalkFiles.
type walker struct {
	fsys  fs.FS
	visit func(file string)
	errs  []error
	// dirs are the directories walked, as the file system names them
	// (os.SameFile tells a directory reached twice), with their paths.
	dirs  []fs.FileInfo
	paths []string
}

// walk walks root; link is the symbolic link root was reached through.
func (w *walker) walk(root, link string) {
	err := fs.WalkDir(w.fsys, root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			w.errs = append(w.errs, &InputError{File: file, Msg: CleanPathError(err)})
			return nil
		}
		if file != root && strings.HasPrefix(d.Name(), ".") && (d.IsDir() || d.Type()&fs.ModeSymlink != 0 && w.isDir(file)) {
			return fs.SkipDir
		}
		switch {
		case d.IsDir():
			if !w.enter(file, link) {
				return fs.SkipDir
			}
		case d.Type()&fs.ModeSymlink != 0 && w.isDir(file):
			w.walk(file, file)
		default:
			w.visit(file)
		}
		return nil
	})
	if err != nil {
		w.errs = append(w.errs, &InputError{File: root, Msg: CleanPathError(err)})
	}
}

// isDir reports whether file, a symbolic link, leads to a directory.
func (w *walker) isDir(file string) bool {
	info, err := fs.Stat(w.fsys, file)
	return err == nil && info.IsDir()
}

// enter records the directory dir, reached through link ("" for none),
// and reports whether to walk it: not when it was walked already.
func (w *walker) enter(dir, link string) bool {
	info, err := fs.Stat(w.fsys, dir)
	if err != nil {
		w.errs = append(w.errs, &InputError{File: dir, Msg: CleanPathError(err)})
		return false
	}
	for i, prev := range w.dirs {
		if !os.SameFile(prev, info) {
			continue
		}
		msg := "a symbolic link to the directory " + w.paths[i] + ", read already: the same files would be read twice under two names"
		if strings.HasPrefix(dir, w.paths[i]+"/") {
			msg = "a symbolic link back to the directory " + w.paths[i] + " it is in (a loop)"
		}
		w.errs = append(w.errs, &InputError{File: cmp.Or(link, dir), Msg: msg})
		return false
	}
	w.dirs, w.paths = append(w.dirs, info), append(w.paths, dir)
	return true
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
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var se *sizeError
			if errors.As(err, &se) && strings.Contains(se.msg, "max-input-size") {
				r.over = true
			}
			return streamError(src.name, err)
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
