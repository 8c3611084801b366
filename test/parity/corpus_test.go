package parity

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/policies"
)

// The world's directories, relative to this package: base/ (namespaces,
// standards, vendors, Secrets) and corpus/ (the cases). Both are judged:
// every document of our kinds in either carries its expected results.
// corpus/linked is a symbolic link to ../linked: the CLI reads it by
// walking corpus/ (issue 26 item 3).
var worldDirs = []string{"base", "corpus", "corpus/linked"}

// Outcomes of a result. A result an exception waives is "waived", whatever
// its enforcement.
const (
	outcomeDeny   = "deny"
	outcomeWarn   = "warn"
	outcomeAudit  = "audit"
	outcomeError  = "error"
	outcomeWaived = "waived"
)

var outcomes = []string{outcomeDeny, outcomeWarn, outcomeAudit, outcomeError, outcomeWaived}

// result is what the suite compares of one policy result: the policy, its
// outcome and the offending field ("" when the result names none).
type result struct {
	Policy, Outcome, Field string
}

func (r result) String() string {
	s := r.Policy + " " + r.Outcome
	if r.Field != "" {
		s += " " + r.Field
	}
	return s
}

// resultSet is the results of one object at one door.
type resultSet map[result]struct{}

func (s resultSet) add(r result) { s[r] = struct{}{} }

func (s resultSet) sorted() []result {
	out := make([]result, 0, len(s))
	for r := range s {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// String is the sorted set, e.g. "{ownership deny spec.costCenter,
// ownership deny spec.owner.team}", or "{} (none)".
func (s resultSet) String() string {
	if len(s) == 0 {
		return "{} (none)"
	}
	parts := make([]string, 0, len(s))
	for _, r := range s.sorted() {
		parts = append(parts, r.String())
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (s resultSet) equal(o resultSet) bool {
	if len(s) != len(o) {
		return false
	}
	for r := range s {
		if _, ok := o[r]; !ok {
			return false
		}
	}
	return true
}

// admissionView is what admission can show of s: every result but audit
// ones (admission returns denials and warnings only).
func (s resultSet) admissionView() resultSet {
	out := resultSet{}
	for r := range s {
		if r.Outcome != outcomeAudit {
			out.add(r)
		}
	}
	return out
}

// doc is one YAML document of the world.
type doc struct {
	file  string // relative to this package, slash-separated, e.g. corpus/exceptions.yaml
	index int    // position of the document in its file, from 0
	line  int    // line of the file the document starts on
	obj   *unstructured.Unstructured
	// subject says the document is one of our kinds: judged at every door,
	// with expect its expected results.
	subject bool
	expect  resultSet
}

// key identifies an object across the doors: Kind/namespace/name, or
// Kind/name for cluster-scoped kinds.
func (d *doc) key() string { return objKey(d.obj.GetKind(), d.obj.GetNamespace(), d.obj.GetName()) }

func objKey(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// where is "file:line Kind namespace/name".
func (d *doc) where() string {
	return fmt.Sprintf("%s:%d %s", d.file, d.line, d.key())
}

var expectLine = regexp.MustCompile(`^#\s*expect:\s*(.*?)\s*$`)

// loadWorld reads every document of base/ and corpus/, files in name order.
func loadWorld() ([]*doc, error) {
	var out []*doc
	for _, dir := range worldDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			docs, err := readFile(filepath.ToSlash(f))
			if err != nil {
				return nil, err
			}
			out = append(out, docs...)
		}
	}
	seen := map[string]*doc{}
	for _, d := range out {
		if prev, ok := seen[d.key()]; ok {
			return nil, fmt.Errorf("%s: %s is also at %s:%d", d.where(), d.key(), prev.file, prev.line)
		}
		seen[d.key()] = d
	}
	return out, nil
}

// readFile splits a file into its documents (at lines "---") and reads the
// expectations of each from its "# expect:" comment lines:
//
//	# expect: <policy> <outcome> [<field>]   one line per expected result
//	# expect: none                           a clean object
func readFile(file string) ([]*doc, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []*doc
	var chunk bytes.Buffer
	start, lineNo, index := 1, 0, 0
	flush := func() error {
		d, err := parseDoc(file, start, index, chunk.Bytes())
		if err != nil {
			return err
		}
		if d != nil {
			out = append(out, d)
			index++
		}
		chunk.Reset()
		start = lineNo + 1
		return nil
	}
	// Line breaks as YAML reads them: \r\n and a lone \r are \n.
	data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lineNo++
		if rest, ok := strings.CutPrefix(sc.Text(), "---"); ok && (strings.TrimSpace(rest) == "" || strings.HasPrefix(strings.TrimSpace(rest), "#")) {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		chunk.WriteString(sc.Text())
		chunk.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseDoc(file string, start, index int, text []byte) (*doc, error) {
	var lines []string
	var none bool
	for i, l := range strings.Split(string(text), "\n") {
		m := expectLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		if m[1] == "none" {
			none = true
		}
		lines = append(lines, fmt.Sprintf("%d\x00%s", start+i, m[1]))
	}
	var obj map[string]any
	if err := yaml.Unmarshal(text, &obj); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, start, err)
	}
	if len(obj) == 0 {
		if len(lines) > 0 {
			return nil, fmt.Errorf("%s:%d: expectations without an object", file, start)
		}
		return nil, nil // comments only
	}
	u := &unstructured.Unstructured{Object: obj}
	// Report the line of the object, past the leading comments.
	first := start
	for _, l := range strings.Split(string(text), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		first++
	}
	d := &doc{file: file, index: index, line: first, obj: u}
	d.subject = u.GroupVersionKind().Group == v1alpha1.GroupVersion.Group
	if !d.subject {
		if len(lines) > 0 {
			return nil, fmt.Errorf("%s: a %s is not judged: remove its expectations", d.where(), u.GetKind())
		}
		return d, nil
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no expectation: add `# expect: <policy> <outcome> [<field>]` lines or `# expect: none`", d.where())
	}
	if none && len(lines) > 1 {
		return nil, fmt.Errorf("%s: `# expect: none` with other expectations", d.where())
	}
	d.expect = resultSet{}
	if none {
		return d, nil
	}
	for _, l := range lines {
		at, text, _ := strings.Cut(l, "\x00")
		f := strings.Fields(text)
		if len(f) > 1 && strings.HasPrefix(f[1], "(") && strings.HasSuffix(f[1], ")") {
			// A result on a rendered child: "<policy> (<Kind>/<name>)".
			f = append([]string{f[0] + " " + f[1]}, f[2:]...)
		}
		if len(f) < 2 || len(f) > 3 || !slices.Contains(outcomes, f[1]) {
			return nil, fmt.Errorf("%s:%s: bad expectation %q: want `<policy> <outcome> [<field>]` with outcome one of %s", file, at, text, strings.Join(outcomes, ", "))
		}
		r := result{Policy: f[0], Outcome: f[1]}
		if len(f) == 3 {
			r.Field = f[2]
		}
		d.expect.add(r)
	}
	return d, nil
}

// kindOrder is the order objects are created in: what an object is judged
// against exists before it.
var kindOrder = []string{
	"Namespace",
	v1alpha1.KindPlatformStandard,
	v1alpha1.KindVendor,
	"Secret",
	v1alpha1.KindGuardrailPolicy,
	v1alpha1.KindPolicyException,
	v1alpha1.KindSaaSIntegration,
	v1alpha1.KindMarketingWorkload,
}

// inCreationOrder sorts the documents by kindOrder, then file, then
// position in the file.
func inCreationOrder(docs []*doc) ([]*doc, error) {
	out := slices.Clone(docs)
	for _, d := range out {
		if !slices.Contains(kindOrder, d.obj.GetKind()) {
			return nil, fmt.Errorf("%s: kind %s is not part of the parity world (want one of %s)", d.where(), d.obj.GetKind(), strings.Join(kindOrder, ", "))
		}
	}
	slices.SortStableFunc(out, func(a, b *doc) int {
		if c := slices.Index(kindOrder, a.obj.GetKind()) - slices.Index(kindOrder, b.obj.GetKind()); c != 0 {
			return c
		}
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		return a.index - b.index
	})
	return out, nil
}

func subjects(docs []*doc) []*doc {
	var out []*doc
	for _, d := range docs {
		if d.subject {
			out = append(out, d)
		}
	}
	return out
}

// minSubjects is the least number of judged objects the corpus must hold.
const minSubjects = 40

var builtinName = regexp.MustCompile(`(?m)^#\s+name:\s*(\S+)\s*$`)

// uncovered lists the outcomes of built-ins the corpus cannot reach, and
// why; policies/fixtures and internal/policy's tests hold their cases.
var uncovered = map[result]string{
	// A Vendor is cluster-scoped: the default standard judges it, and the
	// corpus's default standard keeps vendor-renewal at its default (warn).
	// The enforcement override itself is kind-independent (vendor-overlap
	// and credential-age are raised to deny under parity-override).
	{Policy: "vendor-renewal", Outcome: outcomeDeny}: "Vendors are judged by the default standard only, which keeps the default warn",
	// The unused clock starts no earlier than the Vendor's creation, which
	// the API server stamps with its real clock, after the suite's instant
	// (see corpus/portfolio.yaml).
	{Policy: "vendor-unused", Outcome: outcomeDeny}: "its clock starts at the Vendor's creation, stamped by the API server's real clock",
	{Policy: "vendor-unused", Outcome: outcomeWarn}: "its clock starts at the Vendor's creation, stamped by the API server's real clock",
}

// TestCorpus checks the corpus itself, without a cluster: every document
// parses, every object of our kinds says what it expects, there are enough
// of them, and every built-in Rego policy is expected to deny somewhere and
// to warn somewhere (a deny-only built-in warns through a standard's
// enforcement override, a warn-only one denies through one).
func TestCorpus(t *testing.T) {
	docs, err := loadWorld()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inCreationOrder(docs); err != nil {
		t.Fatal(err)
	}
	subs := subjects(docs)
	if len(subs) < minSubjects {
		t.Errorf("the corpus judges %d objects, want at least %d", len(subs), minSubjects)
	}
	modules, err := policies.Modules()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[result]bool{}
	for _, d := range subs {
		for r := range d.expect {
			seen[result{Policy: r.Policy, Outcome: r.Outcome}] = true
		}
	}
	var names []string
	for _, src := range modules {
		m := builtinName.FindStringSubmatch(src)
		if m == nil {
			continue
		}
		names = append(names, m[1])
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no built-in policy names found in package policies")
	}
	for _, name := range names {
		for _, o := range []string{outcomeDeny, outcomeWarn} {
			if why, ok := uncovered[result{Policy: name, Outcome: o}]; ok {
				t.Logf("built-in %s to %s is not in the corpus: %s", name, o, why)
				continue
			}
			if !seen[result{Policy: name, Outcome: o}] {
				t.Errorf("no case expects built-in %s to %s", name, o)
			}
		}
	}
	for _, o := range outcomes {
		found := false
		for r := range seen {
			found = found || r.Outcome == o
		}
		if !found {
			t.Errorf("no case expects a result with outcome %s", o)
		}
	}
	t.Logf("corpus: %d documents, %d judged objects, %d built-ins covered", len(docs), len(subs), len(names))
}
