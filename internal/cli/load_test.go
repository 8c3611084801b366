package cli

import (
	"strings"
	"testing"
)

func TestParseDocumentsKeepsLines(t *testing.T) {
	src := "# comment\r\n\r\napiVersion: v1\r\nkind: A\r\n--- # a separator with a comment\r\n---\r\n\r\n# only a comment\r\n---\r\n\r\napiVersion: v1\r\nkind: B\r\n...\r\n"
	docs, errs := parseDocuments("f.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Pos()+" "+d.Object["kind"].(string))
	}
	if want := "f.yaml:3 A,f.yaml:11 B"; strings.Join(got, ",") != want {
		t.Errorf("documents %v, want %s", got, want)
	}
}

func TestParseDocumentsErrors(t *testing.T) {
	src := "apiVersion: v1\nkind: A\n---\n- a list\n---\napiVersion: v1\nkind: B\nkind: C\n---\nkey: [unclosed\n"
	_, errs := parseDocuments("f.yaml", []byte(src))
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

func TestReadsJSONFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"vendor.json":          `{"apiVersion": "martech.guardrails.dev/v1alpha1", "kind": "Vendor", "metadata": {"name": "j"}, "spec": {"displayName": "J", "category": "crm", "status": "prohibited"}}`,
		"notes.txt":            "not a manifest",
		".hidden/x.yaml":       "this: [is not read",
		"guardrails-test.yaml": "name: a suite, not a manifest\n",
	})
	r := runCLI(t, nil, "check", "-f", dir, "-o", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"objects": 1`) {
		t.Errorf("%s", r)
	}
}
