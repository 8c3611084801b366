package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"testing/iotest"

	yaml2 "go.yaml.in/yaml/v2"
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

// yamlEdgeCases are documents whose values the JSON round trip of
// sigs.k8s.io/yaml changes, or that its parser refuses: decodeYAML must
// give what the round trip gives.
var yamlEdgeCases = []string{
	"a: 1\nb: 1.0\nc: 1.5\nd: 1e3\ne: .inf\nf: -.inf\ng: .nan\n",
	"big: 9223372036854775807\nbigger: 9223372036854775808\nneg: -9223372036854775809\nhex: 0x1F\noct: 0o17\nold: 017\nsep: 1_000\n",
	"1: int key\ntrue: bool key\n1.5: float key\nnull: null key\n",
	"\"1\": a\n1: b\n",
	"a: 1\na: 2\n",
	"t: 2026-01-01T00:00:00Z\nd: 2026-01-01\nb: !!binary aGVsbG8=\n",
	"y: yes\nn: no\non: on\noff: off\n~: tilde\nnil: ~\n",
	"base: &b {x: 1, y: [1, 2]}\nmerged:\n  <<: *b\n  z: 3\n",
	"s: \"\\xff\\xfe\"\nu: \"\\u2028 \\U0001F600 ÿ\"\n",
	"list: []\nmap: {}\nempty:\nnested: [[[]], {a: {b: {c: [null]}}}]\n",
	"- a\n- b\n",
	"scalar\n",
	"",
	"# only a comment\n",
	"a: [1, 2\n",
	"a: b: c\n",
	"? [1, 2]\n: complex key\n",
	"? {a: 1}\n: map key\n",
	"a: !!str 12\nb: !!int \"12\"\nc: !!float 1\n",
}

// TestDecodeYAMLAsRoundTrip checks decodeYAML against sigs.k8s.io/yaml's
// JSON round trip on the edge cases and the samples.
func TestDecodeYAMLAsRoundTrip(t *testing.T) {
	cases := slices.Clone(yamlEdgeCases)
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		chunks, _ := splitDocuments(data)
		for _, c := range chunks {
			cases = append(cases, string(c.text))
			// The samples take the direct path, not the round trip.
			var y any
			if err := yaml2.UnmarshalStrict(c.text, &y); err != nil {
				t.Fatal(err)
			}
			if _, ok := jsonValue(y, 0); !ok {
				t.Errorf("%s: a sample takes the JSON round trip:\n%s", f, c.text)
			}
		}
	}
	for _, c := range cases {
		checkDecodeYAML(t, []byte(c))
	}
}

func checkDecodeYAML(t *testing.T, text []byte) {
	t.Helper()
	var y any
	if err := yaml2.UnmarshalStrict(text, &y); err == nil {
		if _, direct := jsonValue(y, 0); !direct {
			// decodeYAML takes the round trip itself, whose result may
			// differ from one call to the next: keys 0 and "0" both
			// become "0", and which value stays depends on map order
			// (testdata/fuzz/FuzzDecodeYAML/94dcbf2d97147875).
			return
		}
	}
	got, gotErr := decodeYAML(text)
	want, wantErr := decodeYAMLViaJSON(text)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeYAML(%q) = %#v, %v; the JSON round trip gives %#v, %v", text, got, gotErr, want, wantErr)
	}
}

// FuzzDecodeYAML checks decodeYAML against sigs.k8s.io/yaml's JSON round
// trip on any input:
//
//	go test ./internal/manifest -run '^$' -fuzz '^FuzzDecodeYAML$' -fuzztime 60s
func FuzzDecodeYAML(f *testing.F) {
	for _, c := range yamlEdgeCases {
		f.Add([]byte(c))
	}
	f.Add([]byte(listVendors))
	f.Fuzz(func(t *testing.T, text []byte) { checkDecodeYAML(t, text) })
}
