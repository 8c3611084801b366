package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	yaml3 "go.yaml.in/yaml/v3"
)

// FuzzSplitDocuments checks the manifest reader on any input (seeds in
// testdata/fuzz/FuzzSplitDocuments):
//
//   - nothing panics, and reading the input a byte at a time through a
//     small buffer gives the documents splitDocuments gives;
//   - every document is placed at a line of the input, in order, and the
//     items of a List at lines of the List, in order;
//   - no document goes unread: when the input is read without an error,
//     it holds as many objects as the YAML parser (go.yaml.in/yaml/v3)
//     finds in the whole stream.
//
// Run it with
//
//	go test ./internal/manifest -run '^$' -fuzz '^FuzzSplitDocuments$' -fuzztime 60s
func FuzzSplitDocuments(f *testing.F) {
	f.Add([]byte(listVendors))
	for _, s := range hiddenDocuments {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		chunks, splitErr := splitDocuments(data)
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1

		// Streaming, a byte at a time, through bufio's smallest buffer.
		dr := newDocReader(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16))
		var streamed []chunk
		var streamErr error
		for {
			c, err := dr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				streamErr = err
				break
			}
			streamed = append(streamed, c)
		}
		if !reflect.DeepEqual(streamed, chunks) || !reflect.DeepEqual(streamErr, splitErr) {
			t.Fatalf("streamed chunks differ from splitDocuments:\n%+v %v\n%+v %v", streamed, streamErr, chunks, splitErr)
		}
		prev := 0
		for _, c := range chunks {
			if c.firstLine < 1 || c.firstLine > lines || c.firstLine < prev {
				t.Fatalf("chunk at line %d (previous %d, %d lines)", c.firstLine, prev, lines)
			}
			prev = c.firstLine
			if l := c.contentLine(); l != 0 && (l < c.firstLine || l > lines) {
				t.Fatalf("chunk of line %d has content at line %d", c.firstLine, l)
			}
		}

		docs, errs := ParseDocuments("f.yaml", data)
		for _, d := range docs {
			last := d.firstLine + bytes.Count(d.text, []byte("\n"))
			for i, l := range d.itemLines {
				if l < d.firstLine || l > last || i > 0 && l < d.itemLines[i-1] {
					t.Fatalf("item %d at line %d, in a document of lines %d-%d", i, l, d.firstLine, last)
				}
			}
		}
		if len(errs) > 0 {
			return
		}
		want, ok := yamlDocuments(data)
		if ok && want != len(docs) {
			t.Fatalf("read %d documents without an error, the YAML parser finds %d in\n%q", len(docs), want, data)
		}
	})
}

// yamlDocuments counts the objects (mapping documents) the YAML parser
// finds in data; ok is false when it fails to parse the stream.
func yamlDocuments(data []byte) (n int, ok bool) {
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, true
		}
		if err != nil {
			return n, false
		}
		// Objects only: kubectl's reader takes a line "---#..." for a
		// separator, which YAML reads as a string document; a string is
		// never an object, so nothing is hidden there.
		if len(doc.Content) > 0 && doc.Content[0].Kind == yaml3.MappingNode {
			n++
		}
	}
}

// hiddenDocuments are streams whose second document the reader used to
// miss (issue 26): on the separator line, after a tag on it, after an end
// marker, at \r or Unicode line breaks.
var hiddenDocuments = []string{
	"a: 1\n--- {b: 2}\n",
	"a: 1\n--- !!map\nb: 2\n",
	"a: 1\n...\n{b: 2}\n",
	"a: 1\n...\n%YAML 1.1\n--- {b: 2}\n",
	"a: 1\r---\rb: 2\r",
	"a: 1\u2028---\u2028b: 2\n",
	"a: 1\u0085---\u0085b: 2\n",
	"\ufeffa: 1\n---\n\ufeff--- b: 2\n",
}
