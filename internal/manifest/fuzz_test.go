package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzSplitDocuments checks the manifest splitter and parser on any input
// (seeds in testdata/fuzz/FuzzSplitDocuments):
//
//   - nothing panics, and reading the input a byte at a time through a
//     small buffer gives the documents splitDocuments gives;
//   - every document and List item is placed at a line of the input, in
//     order;
//   - a List split into its items (splitList) means exactly what the List
//     parsed whole means: the same items, in order, each the same object
//     or the same "not an object" error; and a List that does not parse
//     whole never passes as split items that all parse.
//
// Run it with
//
//	go test ./internal/manifest -run '^$' -fuzz '^FuzzSplitDocuments$' -fuzztime 60s
func FuzzSplitDocuments(f *testing.F) {
	f.Add([]byte(listVendors))
	f.Fuzz(func(t *testing.T, data []byte) {
		chunks := splitDocuments(data)
		lines := bytes.Count(data, []byte("\n")) + 1

		// Streaming, a byte at a time, through bufio's smallest buffer.
		dr := &docReader{br: bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16)}
		var streamed []chunk
		for {
			c, err := dr.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			streamed = append(streamed, c)
		}
		if !reflect.DeepEqual(streamed, chunks) {
			t.Fatalf("streamed chunks differ from splitDocuments:\n%+v\n%+v", streamed, chunks)
		}
		prev := 0
		for _, c := range chunks {
			// (An empty document after a last "---" starts past the end.)
			if c.firstLine < 1 || c.firstLine > lines+1 || c.firstLine < prev {
				t.Fatalf("chunk at line %d (previous %d, %d lines)", c.firstLine, prev, lines)
			}
			prev = c.firstLine
			if l := c.contentLine(); l != 0 && (l < c.firstLine || l > lines) {
				t.Fatalf("chunk of line %d has content at line %d", c.firstLine, l)
			}
			_, _ = parseChunk("f.yaml", c) // must not panic
		}

		// Each document kept whole, against its items split off.
		whole := &docReader{br: bufio.NewReader(bytes.NewReader(data)), whole: true}
		for {
			c, err := whole.next()
			if err != nil {
				break
			}
			checkSplit(t, c)
		}
	})
}

// checkSplit checks that splitting the List document c into items agrees
// with parsing it whole.
func checkSplit(t *testing.T, c chunk) {
	t.Helper()
	items, itemLines, ok := splitList(c)
	last := c.firstLine + bytes.Count(c.text, []byte("\n"))
	d, err := parseChunk("f.yaml", c)
	if !ok {
		if len(itemLines) > 0 && err == nil && d != nil {
			if all, _ := d.Object["items"].([]any); len(all) != len(itemLines) {
				t.Fatalf("%d item lines for %d items", len(itemLines), len(all))
			}
		}
		return
	}
	var got []any
	var itemErr error
	for i, it := range items {
		if it.firstLine < c.firstLine || it.firstLine > last || i > 0 && it.firstLine <= items[i-1].firstLine {
			t.Fatalf("item %d at line %d, in a document of lines %d-%d", i, it.firstLine, c.firstLine, last)
		}
		id, ierr := parseChunk("f.yaml", it)
		switch {
		case ierr != nil && strings.HasSuffix(ierr.Error(), "is not an object"):
			got = append(got, errNotObject)
		case ierr != nil:
			itemErr = errors.Join(itemErr, ierr)
		default:
			got = append(got, id.Object)
		}
	}
	if err != nil {
		if itemErr == nil {
			t.Fatalf("the document does not parse (%v), its %d items split off do:\n%s", err, len(items), c.text)
		}
		return
	}
	if itemErr != nil {
		t.Fatalf("the document parses, its items split off do not: %v\n%s", itemErr, c.text)
	}
	want, isList := d.Object["items"].([]any)
	if !isList {
		t.Fatalf("split into %d items, but parsed whole items is %T:\n%s", len(items), d.Object["items"], c.text)
	}
	for i, x := range want {
		if _, isMap := x.(map[string]any); !isMap {
			want[i] = errNotObject
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("items split off:\n%v\nparsed whole:\n%v\nof\n%s", got, want, c.text)
	}
	if kind, _ := d.Object["kind"].(string); items[0].list != kind {
		t.Fatalf("items of a %q, the document is a %q", items[0].list, kind)
	}
}

var errNotObject = errors.New("not an object")
