package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

func TestParseDocumentsKeepsLines(t *testing.T) {
	src := "# comment\r\n\r\napiVersion: v1\r\nkind: A\r\n--- # a separator with a comment\r\n---\r\n\r\n# only a comment\r\n---\r\n\r\napiVersion: v1\r\nkind: B\r\n...\r\n"
	docs, errs := ParseDocuments("f.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, d := range docs {
		kind, _ := d.Object["kind"].(string)
		got = append(got, d.Pos()+" "+kind)
	}
	if want := "f.yaml:3 A,f.yaml:11 B"; strings.Join(got, ",") != want {
		t.Errorf("documents %v, want %s", got, want)
	}
}

func TestParseDocumentsErrors(t *testing.T) {
	src := "apiVersion: v1\nkind: A\n---\n- a list\n---\napiVersion: v1\nkind: B\nkind: C\n---\nkey: [unclosed\n"
	_, errs := ParseDocuments("f.yaml", []byte(src))
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		"f.yaml:4: a document must be an object with apiVersion and kind, not a list",
		`f.yaml:6: invalid YAML: unmarshal errors; line 8: key "kind" already set in map`,
		"f.yaml:10: invalid YAML: line 10: did not find expected ',' or ']'",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

const listVendors = `apiVersion: v1
kind: List
items:
- apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  metadata: {name: a}
  spec: {displayName: A, category: crm, status: approved}
# a comment between items
-   apiVersion: martech.guardrails.dev/v1alpha1
    kind: Vendor
    metadata: {name: b}
    spec: {displayName: B, category: crm, status: approved}
-
  apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  metadata:
    name: c
    annotations:
      note: |
        - not an item
        items:
  spec: {displayName: "C, \"quoted\"
      over two lines", category: crm, status: approved}
metadata: {resourceVersion: ""}
---
{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "martech.guardrails.dev/v1alpha1", "kind": "Vendor", "metadata": {"name": "j1"}, "spec": {"displayName": "J", "category": "crm", "status": "approved"}},
    {
      "apiVersion": "martech.guardrails.dev/v1alpha1", "kind": "Vendor", "metadata": {"name": "j2"},
      "spec": {"displayName": "J", "category": "crm", "status": "approved"}
    }
  ]
}
---
apiVersion: v1
items:
  - &v
    apiVersion: martech.guardrails.dev/v1alpha1
    kind: Vendor
    metadata: {name: anchored}
    spec: &spec {displayName: A, category: crm, status: approved}
  - apiVersion: martech.guardrails.dev/v1alpha1
    kind: Vendor
    metadata: {name: aliased}
    spec: *spec
kind: VendorList
`

// The items of a List are at their own lines, in YAML (items at column 0
// or indented, kubectl's key order or not), JSON, and Lists whose items
// share anchors.
func TestListItemsAtTheirOwnLines(t *testing.T) {
	dir := writeFiles(t, map[string]string{"l.yaml": listVendors})
	w, errs := Load(context.Background(), Inputs{FS: OSFS{}, Files: []string{dir}, Namespace: DefaultNamespace})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, it := range w.items {
		got = append(got, fmt.Sprintf("%s %s", it.name, strings.TrimPrefix(it.Pos(), dir+"/")))
	}
	want := "a l.yaml:4, b l.yaml:9, c l.yaml:14, j1 l.yaml:30, j2 l.yaml:31, anchored l.yaml:40, aliased l.yaml:45"
	if strings.Join(got, ", ") != want {
		t.Errorf("items at\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	if note := w.byKey[objectKey(v1alpha1.KindVendor, "", "c")].Object.GetAnnotations()["note"]; note != "- not an item\nitems:\n" {
		t.Errorf("c's note %q", note)
	}
}

// writeFiles writes files (by slash-separated path) into a new directory
// and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A file that starts with "---" (kubectl's reader keeps that line in the
// first document) places its documents at their first key.
func TestLeadingSeparator(t *testing.T) {
	docs, errs := ParseDocuments("f.yaml", []byte("---\napiVersion: v1\nkind: A\n---\n---\n\napiVersion: v1\nkind: B\n---"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Pos())
	}
	if want := "f.yaml:2,f.yaml:7"; strings.Join(got, ",") != want {
		t.Errorf("documents at %v, want %s", got, want)
	}
}
