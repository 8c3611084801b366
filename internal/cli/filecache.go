package cli

import (
	"fmt"
	"io/fs"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fileCacheObjects is how many documents a fileCache holds before it drops
// the files it read first. A check evaluates evalChunk objects at a
// time, in input order, and a workload's integrations are usually in its
// own file or one near it, so this holds every file a chunk needs.
const fileCacheObjects = 4 * evalChunk

// fileCache reads the lazy items of a World (see checkEarly) again. It
// keeps the text of the files read last, split into documents, and parses a
// document when one of its objects is first asked for, so that the
// goroutines evaluating a file's objects parse them in parallel. The
// documents were validated when the World was loaded, so they are only
// parsed, pruned and defaulted again, as admit did, not validated twice.
type fileCache struct {
	fsys      fs.FS
	namespace string // for namespaced objects that name none
	limit     int    // documents held before the oldest files are dropped

	mu    sync.Mutex
	files map[string]*cachedFile
	order []string // files held, oldest first
	held  int      // documents in the files held
}

type cachedFile struct {
	once sync.Once
	docs map[int]*cachedDoc // by Document.Line
	err  error
}

// cachedDoc is one document of a cached file, typed once asked for.
type cachedDoc struct {
	chunk
	once sync.Once
	obj  client.Object
	err  error
}

func newFileCache(fsys fs.FS, namespace string, limit int) *fileCache {
	return &fileCache{fsys: fsys, namespace: namespace, limit: limit, files: map[string]*cachedFile{}}
}

// object returns a lazy item's typed object, reading its file if it is not
// held. Concurrent calls read a file, and type a document, once. The caller
// must not change the object: it is shared until its file is dropped.
func (c *fileCache) object(w *World, it *item) (client.Object, error) {
	file := it.doc.File
	c.mu.Lock()
	f := c.files[file]
	if f == nil {
		f = &cachedFile{}
		c.files[file] = f
		c.order = append(c.order, file)
	}
	c.mu.Unlock()
	f.once.Do(func() {
		docs, err := c.read(file)
		c.mu.Lock()
		defer c.mu.Unlock()
		// Set under c.mu: evict reads len(f.docs) of other files' entries
		// while this one is read.
		f.docs, f.err = docs, err
		if c.files[file] != f {
			return // dropped while it was read; the caller still gets it
		}
		c.held += len(f.docs)
		c.evict(file)
	})
	if f.err != nil {
		return nil, f.err
	}
	d := f.docs[it.doc.Line]
	if d == nil {
		return nil, c.changed(it)
	}
	d.once.Do(func() { d.obj, d.err = c.typed(w, file, d) })
	if d.err != nil {
		return nil, d.err
	}
	if d.obj == nil || objectKey(it.kind, d.obj.GetNamespace(), d.obj.GetName()) != it.key() {
		return nil, c.changed(it)
	}
	return d.obj, nil
}

func (c *fileCache) changed(it *item) error {
	return &InputError{File: it.doc.File, Line: it.doc.Line,
		Msg: fmt.Sprintf("%s %s is no longer there: was the file changed during the check?", it.kind, nsName(it.namespace, it.name))}
}

// evict drops the oldest files, except keep, while too many documents are
// held. c.mu is held.
func (c *fileCache) evict(keep string) {
	for c.held > c.limit && len(c.order) > 1 {
		oldest := c.order[0]
		c.order = c.order[1:]
		if oldest == keep {
			c.order = append(c.order, oldest)
			continue
		}
		if f := c.files[oldest]; f != nil {
			c.held -= len(f.docs) // 0 for a file still being read
			delete(c.files, oldest)
		}
	}
}

// read reads file again and splits it into documents.
func (c *fileCache) read(file string) (map[int]*cachedDoc, error) {
	data, err := fs.ReadFile(c.fsys, file)
	if err != nil {
		return nil, &InputError{File: file, Msg: cleanPathError(err)}
	}
	docs := map[int]*cachedDoc{}
	for _, ch := range splitDocuments(data) {
		if line := ch.contentLine(); line > 0 {
			docs[line] = &cachedDoc{chunk: ch}
		}
	}
	return docs, nil
}

// typed parses one document again into the lazy item it holds, or nil when
// it holds none.
func (c *fileCache) typed(w *World, file string, cd *cachedDoc) (client.Object, error) {
	d, err := parseChunk(file, cd.chunk)
	if err != nil || d == nil {
		return nil, err
	}
	kind := d.ourKind()
	if !lazyKind(kind) {
		return nil, nil
	}
	all, err := schemas()
	if err != nil {
		return nil, err
	}
	if problems, _ := all[kind].prepare(d.Object, c.namespace); len(problems) > 0 {
		return nil, docError(d, "%s: %s (was the file changed during the check?)", kind, problems[0])
	}
	obj, err := d.typed(kind)
	if err != nil {
		return nil, docError(d, "%s: %v (was the file changed during the check?)", kind, err)
	}
	it := w.byKey[objectKey(kind, obj.GetNamespace(), obj.GetName())]
	if it == nil || it.obj != nil || it.doc == nil || it.doc.File != file || it.doc.Line != d.Line {
		return nil, nil // not the lazy item it was
	}
	obj.SetUID(it.uid)
	obj.SetResourceVersion("1")
	return obj, nil
}
