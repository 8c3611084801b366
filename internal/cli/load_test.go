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
	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/report"
)

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
`, "dup.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: martech.guardrails.dev/v1alpha1
  kind: Vendor
  kind: Vendor
`})
	r := runCLI(t, nil, "check", "-f", dir)
	wantIn(t, "stderr", r.stderr, r,
		"l.yaml:4: Vendor a: spec.status: Unsupported value",
		"l.yaml:8: List items[1] is not an object",
		"l.yaml:9: List items[2] is not an object",
		// A List is parsed whole, as kubectl parses it: a YAML error in an
		// item is the List's, at the line of the fault.
		`dup.yaml:1: invalid YAML: unmarshal errors; line 6: key "kind" already set in map`,
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
	if got, want := strings.Join(lines, " "), "indented.yaml:8 indented.yaml:50 list.yaml:7 list.yaml:29 list.yaml:50 list.yaml:75 list.yaml:92 list.yaml:109 list.yaml:129"; got != want {
		t.Errorf("workloads and integrations at %s, want %s", got, want)
	}
	if got, want := outcomesText(lists), outcomesText(plain); got != want {
		t.Errorf("the Lists are judged\n%s\nthe same documents one by one\n%s", got, want)
	}
}

// outcomesText is the reports' objects, outcomes and policies, in the order
// of their refs.
func outcomesText(reports []*report.ObjectReport) string {
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
func checkReports(t *testing.T, in inputFlags) []*report.ObjectReport {
	t.Helper()
	ctx := context.Background()
	now, err := time.Parse(time.RFC3339, testNow)
	if err != nil {
		t.Fatal(err)
	}
	in.namespace = manifest.DefaultNamespace
	w, eng, _, errs := loadChecked(ctx, &env{fsys: manifest.OSFS{}}, &in)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	reports, err := evaluate(ctx, eng, w, w.Subjects(), now)
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
	in := inputFlags{files: []string{samples + "/01_platformstandard.yaml", samples + "/02_vendors.yaml", samples + "/06_saasintegrations.yaml", file}, namespace: manifest.DefaultNamespace}
	ctx := context.Background()
	now, err := time.Parse(time.RFC3339, testNow)
	if err != nil {
		t.Fatal(err)
	}
	w, eng, _, errs := loadChecked(ctx, &env{fsys: manifest.OSFS{}}, &in)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	before, err := evaluate(ctx, eng, w, w.Subjects(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("kind: [not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := evaluate(ctx, eng, w, w.Subjects(), now)
	if err != nil {
		t.Fatalf("evaluating after the file changed: %v", err)
	}
	if !reflect.DeepEqual(before, after) || !strings.Contains(outcomesText(after), "winter-sale-microsite") {
		t.Errorf("after the file changed\n%s\nbefore\n%s", outcomesText(after), outcomesText(before))
	}
}
