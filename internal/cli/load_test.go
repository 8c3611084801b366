package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
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

// A line of 16 MiB or more (a long comment, annotation or a `jq -c` List)
// ended the input silently: bufio.Scanner's limit, its error unchecked.
// check said "0 objects" and exited 0 although a denied workload followed.
func TestLongLineDoesNotEndTheInput(t *testing.T) {
	workload := readFile(t, fixtures+"/bad-registry/workload.yaml")
	dir := writeFiles(t, map[string]string{"w.yaml": "# " + strings.Repeat("x", 17<<20) + "\n" + workload})
	r := runCLI(t, nil, "check", "-f", dir, "--standard", catalogue+"/standard.yaml", "--vendors", catalogue, "--now", testNow)
	if r.code != ExitDenied || !strings.Contains(r.stdout, "w.yaml:3: MarketingWorkload growth-marketing/spring-promo") {
		t.Errorf("%s", r)
	}
}

// A workload with a one-line annotation of 17 MiB is read whole, not cut
// at the annotation (which gave `metadata.name: Required`): it is refused
// for the real cause, the API server's limit on annotations; over a size
// limit the file is refused, naming the file and the limit.
func TestLongAnnotationIsReadWhole(t *testing.T) {
	workload := strings.Replace(readFile(t, fixtures+"/bad-registry/workload.yaml"), "metadata:\n",
		"metadata:\n  annotations:\n    note: "+strings.Repeat("x", 17<<20)+"\n", 1)
	dir := writeFiles(t, map[string]string{"w.yaml": workload})
	args := []string{"check", "-f", dir, "--standard", catalogue + "/standard.yaml", "--vendors", catalogue, "--now", testNow}
	r := runCLI(t, nil, args...)
	if r.code != ExitBadInput || strings.TrimSpace(r.stderr) != dir+"/w.yaml:2: MarketingWorkload growth-marketing/spring-promo: metadata.annotations: Too long: may not be more than 262144 bytes" {
		t.Errorf("%.2000s", r)
	}
	r = runCLI(t, nil, append(args, "--max-file-size", "16Mi")...)
	if r.code != ExitBadInput || strings.TrimSpace(r.stderr) != dir+"/w.yaml: the file is 17.0 MiB, more than --max-file-size 16 MiB" {
		t.Errorf("%.2000s", r)
	}
}

// listOf makes a List of the documents of a multi-document file, kubectl
// style (items at column 0), or indented by two when indent is set.
func listOf(t *testing.T, src string, indent bool) string {
	t.Helper()
	pre := ""
	if indent {
		pre = "  "
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: \"\"\nitems:\n")
	for _, doc := range strings.Split(src, "\n---\n") {
		for i, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
			if i == 0 {
				b.WriteString(pre + "- " + line + "\n")
			} else {
				b.WriteString(pre + "  " + line + "\n")
			}
		}
	}
	return b.String()
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
	in := &inputFlags{files: []string{dir}, namespace: DefaultNamespace}
	w, errs := loadWorld(context.Background(), &env{fsys: osFS{}}, in)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, it := range w.items {
		got = append(got, fmt.Sprintf("%s %s", it.name, strings.TrimPrefix(it.pos(), dir+"/")))
	}
	want := "a l.yaml:4, b l.yaml:9, c l.yaml:14, j1 l.yaml:30, j2 l.yaml:31, anchored l.yaml:40, aliased l.yaml:45"
	if strings.Join(got, ", ") != want {
		t.Errorf("items at\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	if note := w.byKey[objectKey(v1alpha1.KindVendor, "", "c")].obj.GetAnnotations()["note"]; note != "- not an item\nitems:\n" {
		t.Errorf("c's note %q", note)
	}
}

// Errors in a List's items are reported at the item.
func TestListItemErrorsAtTheItem(t *testing.T) {
	dir := writeFiles(t, map[string]string{"l.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  metadata: {name: a}
  spec: {displayName: A, category: crm, status: maybe}
- just a string
-
- apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  kind: Vendor
`})
	r := runCLI(t, nil, "check", "-f", dir)
	wantIn(t, "stderr", r.stderr, r,
		"l.yaml:4: Vendor a: spec.status: Unsupported value",
		"l.yaml:8: List items[1] is not an object",
		"l.yaml:9: List items[2] is not an object",
		`l.yaml:10: invalid YAML: unmarshal errors; line 12: key "kind" already set in map`,
	)
	if r.code != ExitBadInput {
		t.Errorf("%s", r)
	}
}

// The workloads and integrations of Lists are checked at their items'
// lines, like the documents of a multi-document file.
func TestListItemsAreChecked(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"00_namespace.yaml", "01_platformstandard.yaml", "02_vendors.yaml", "03_secrets.yaml", "04_guardrailpolicy.yaml", "05_policyexception.yaml"} {
		files[f] = readFile(t, samples+"/"+f)
	}
	files["list.yaml"] = listOf(t, readFile(t, samples+"/06_saasintegrations.yaml"), false)
	files["indented.yaml"] = listOf(t, readFile(t, samples+"/07_marketingworkloads.yaml"), true)
	dir := writeFiles(t, files)
	lists := checkReports(t, inputFlags{files: []string{dir}})
	plain := checkReports(t, inputFlags{files: []string{samples}})
	var lines []string
	for _, o := range lists {
		if o.Kind == v1alpha1.KindMarketingWorkload || o.Kind == v1alpha1.KindSaaSIntegration {
			lines = append(lines, fmt.Sprintf("%s:%d", strings.TrimPrefix(o.File, dir+"/"), o.Line))
		}
	}
	if got, want := strings.Join(lines, " "), "indented.yaml:8 indented.yaml:50 list.yaml:7 list.yaml:23 list.yaml:39 list.yaml:58"; got != want {
		t.Errorf("workloads and integrations at %s, want %s", got, want)
	}
	if got, want := outcomesText(lists), outcomesText(plain); got != want {
		t.Errorf("the Lists are judged\n%s\nthe same documents one by one\n%s", got, want)
	}
}

// outcomesText is the reports' objects, outcomes and policies, in the order
// of their refs.
func outcomesText(reports []*ObjectReport) string {
	var lines []string
	for _, o := range reports {
		line := o.Ref() + " " + o.Outcome()
		for _, r := range o.Results {
			line += " " + r.Policy
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkReports loads in and evaluates every subject at testNow.
func checkReports(t *testing.T, in inputFlags) []*ObjectReport {
	t.Helper()
	ctx := context.Background()
	now, err := time.Parse(time.RFC3339, testNow)
	if err != nil {
		t.Fatal(err)
	}
	in.namespace = DefaultNamespace
	w, eng, errs := loadChecked(ctx, &env{fsys: osFS{}}, &in)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	reports, err := evaluate(ctx, eng, w, w.subjects(), now)
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

// Each input file is read once: a file changed after the inputs were
// loaded changes no verdict, and no error of a second read appears.
func TestFilesAreReadOnce(t *testing.T) {
	src := readFile(t, samples+"/07_marketingworkloads.yaml")
	dir := writeFiles(t, map[string]string{"workloads.yaml": src})
	file := filepath.Join(dir, "workloads.yaml")
	in := inputFlags{files: []string{samples + "/01_platformstandard.yaml", samples + "/02_vendors.yaml", samples + "/06_saasintegrations.yaml", file}, namespace: DefaultNamespace}
	ctx := context.Background()
	now, err := time.Parse(time.RFC3339, testNow)
	if err != nil {
		t.Fatal(err)
	}
	w, eng, errs := loadChecked(ctx, &env{fsys: osFS{}}, &in)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	before, err := evaluate(ctx, eng, w, w.subjects(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("kind: [not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := evaluate(ctx, eng, w, w.subjects(), now)
	if err != nil {
		t.Fatalf("evaluating after the file changed: %v", err)
	}
	if !reflect.DeepEqual(before, after) || !strings.Contains(outcomesText(after), "winter-sale-microsite") {
		t.Errorf("after the file changed\n%s\nbefore\n%s", outcomesText(after), outcomesText(before))
	}
}
