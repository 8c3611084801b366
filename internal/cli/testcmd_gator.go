package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
	"github.com/martech-guardrails/guardrails/internal/report"
)

// Gatekeeper's gator suites (`gator verify`), read unchanged. The types
// mirror gatekeeper/v3 pkg/gator/verify (Suite, Test, Case, Assertion),
// whose module would bring all of Gatekeeper with it.
const (
	gatorGroup = "test.gatekeeper.sh"
	gatorKind  = "Suite"
)

// gatorSuite is a `kind: Suite` file of apiVersion test.gatekeeper.sh/v1alpha1.
type gatorSuite struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Tests []gatorTest `json:"tests"`
	Skip  bool        `json:"skip"`
}

// gatorTest is a template and a constraint, and the cases run against them.
type gatorTest struct {
	Name       string      `json:"name"`
	Template   string      `json:"template"`   // relative to the suite file
	Constraint string      `json:"constraint"` // relative to the suite file
	Expansion  string      `json:"expansion"`  // not supported: the test fails
	Cases      []gatorCase `json:"cases"`
	// Invalid: the constraint is expected to be refused for the template
	// (parameters that do not fit its schema, a bad match...).
	Invalid bool `json:"invalid"`
	Skip    bool `json:"skip"`
}

// gatorCase is one object reviewed, with the objects of data.inventory.
type gatorCase struct {
	Name       string           `json:"name"`
	Object     string           `json:"object"`
	Inventory  []string         `json:"inventory"`
	Assertions []gatorAssertion `json:"assertions"`
	Skip       bool             `json:"skip"`
}

// gatorAssertion is a statement on the violations: yes (at least one,
// the default), no (none) or exactly N, of those whose message matches
// Message (a regular expression) when it is set.
type gatorAssertion struct {
	Violations *violations `json:"violations,omitempty"`
	Message    *string     `json:"message,omitempty"`

	re *regexp.Regexp
}

// violations is "yes", "no" or a count. gator reads suites as YAML 1.2,
// where yes and no are strings; read as YAML 1.1 they are booleans, taken
// back here.
type violations struct{ intstr.IntOrString }

func (v *violations) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		v.IntOrString = intstr.FromString("yes")
		return nil
	case "false":
		v.IntOrString = intstr.FromString("no")
		return nil
	}
	return v.IntOrString.UnmarshalJSON(data)
}

// isGatorSuite reports whether data is a gator suite: its (first)
// document has kind Suite in test.gatekeeper.sh, as gator tells them.
func isGatorSuite(data []byte) bool {
	if !bytes.Contains(data, []byte(gatorGroup)) {
		return false
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return false
	}
	group, _, _ := strings.Cut(head.APIVersion, "/")
	return group == gatorGroup && head.Kind == gatorKind
}

// readGatorSuite parses and checks a gator suite, the text data of file; a
// suite gator itself would refuse (a test with no template or constraint,
// a case with no object, an assertion it cannot run) is bad input.
//
// It returns the paths the suite names, with their lines.
func readGatorSuite(file string, data []byte) (*gatorSuite, []suitePath, error) {
	var s gatorSuite
	if err := yaml.Unmarshal(data, &s); err != nil {
		return nil, nil, &manifest.InputError{File: file, Msg: "invalid gator suite: " + oneLine(err.Error())}
	}
	bad := func(format string, args ...any) error {
		return &manifest.InputError{File: file, Msg: "invalid gator suite: " + fmt.Sprintf(format, args...)}
	}
	for i := range s.Tests {
		t := &s.Tests[i]
		switch {
		case t.Skip:
			continue
		case t.Template == "":
			return nil, nil, bad("tests[%d] (%s): template is missing", i, t.Name)
		case t.Constraint == "":
			return nil, nil, bad("tests[%d] (%s): constraint is missing", i, t.Name)
		}
		for j := range t.Cases {
			c := &t.Cases[j]
			if c.Skip {
				continue
			}
			if c.Object == "" {
				return nil, nil, bad("tests[%d].cases[%d] (%s): object is missing", i, j, c.Name)
			}
			for k := range c.Assertions {
				if err := c.Assertions[k].compile(); err != nil {
					return nil, nil, bad("tests[%d].cases[%d].assertions[%d]: %v", i, j, k, err)
				}
			}
		}
	}
	lines := newYAMLLines(data)
	var paths []suitePath
	add := func(p string, keys ...any) {
		if p == "" {
			return
		}
		var field strings.Builder
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				if field.Len() > 0 {
					field.WriteByte('.')
				}
				field.WriteString(k)
			case int:
				fmt.Fprintf(&field, "[%d]", k)
			}
		}
		paths = append(paths, suitePath{field: field.String(), line: lines.line(keys...), path: p})
	}
	for i, t := range s.Tests {
		add(t.Template, "tests", i, "template")
		add(t.Constraint, "tests", i, "constraint")
		for j, c := range t.Cases {
			add(c.Object, "tests", i, "cases", j, "object")
			for k, inv := range c.Inventory {
				add(inv, "tests", i, "cases", j, "inventory", k)
			}
		}
	}
	return &s, paths, nil
}

func (a *gatorAssertion) compile() error {
	if a.Violations == nil {
		a.Violations = &violations{intstr.FromString("yes")}
	}
	switch v := a.Violations; {
	case v.Type == intstr.Int && v.IntVal < 0,
		v.Type == intstr.String && v.StrVal != "yes" && v.StrVal != "no":
		return fmt.Errorf(`violations must be a nonnegative integer, "yes" or "no", not %s`, v.String())
	}
	if a.Message != nil {
		re, err := regexp.Compile(*a.Message)
		if err != nil {
			return fmt.Errorf("message: %w", err)
		}
		a.re = re
	}
	return nil
}

// check returns why the messages of the violations do not satisfy a, or "".
func (a *gatorAssertion) check(messages []string) string {
	matching := 0
	for _, m := range messages {
		if a.re == nil || a.re.MatchString(m) {
			matching++
		}
	}
	containing := ""
	if a.Message != nil {
		containing = fmt.Sprintf(" matching %q", *a.Message)
	}
	var want string
	switch v := a.Violations; {
	case v.Type == intstr.Int && matching != int(v.IntVal):
		want = fmt.Sprintf("exactly %d", v.IntVal)
	case v.Type == intstr.String && v.StrVal == "yes" && matching == 0:
		want = "at least 1"
	case v.Type == intstr.String && v.StrVal == "no" && matching > 0:
		want = "none"
	default:
		return ""
	}
	return fmt.Sprintf("got %d violations%s but want %s: got messages %q", matching, containing, want, messages)
}

// runGatorSuite runs a gator suite: for each test a fresh engine with its
// template and constraint in force, and each case's object reviewed by it.
func runGatorSuite(ctx context.Context, t *tally, ref suiteRef, re *regexp.Regexp) error {
	s, paths, err := readGatorSuite(ref.file, ref.data)
	if err != nil {
		return err
	}
	sfs, err := newSuiteFS(ref.fsys, path.Dir(ref.file))
	if err != nil {
		return err
	}
	defer sfs.Close()
	if err := sfs.checkPaths(ref.file, paths); err != nil {
		return err
	}
	// Names are optional in gator: the index stands in.
	for i := range s.Tests {
		if s.Tests[i].Name == "" {
			s.Tests[i].Name = fmt.Sprintf("tests[%d]", i)
		}
		for j := range s.Tests[i].Cases {
			if s.Tests[i].Cases[j].Name == "" {
				s.Tests[i].Cases[j].Name = fmt.Sprintf("cases[%d]", j)
			}
		}
	}
	name := s.Metadata.Name
	if name == "" {
		name = ref.file
	}
	prefix := "gator " + name + ": "
	for _, test := range s.Tests {
		selected := gatorSelected(name, test, re)
		if re != nil && !re.MatchString(name+"/"+test.Name) && len(selected) == 0 {
			continue
		}
		if s.Skip || test.Skip {
			t.skip(prefix+test.Name, "skip: true")
			continue
		}
		g := gatorRun{fsys: sfs, test: test}
		done := g.setUp(t, prefix+test.Name)
		if err := sfs.escapeError(ref.file, paths); err != nil {
			return err
		}
		if done {
			continue
		}
		for _, c := range selected {
			cname := prefix + test.Name + "/" + c.Name
			if c.Skip {
				t.skip(cname, "skip: true")
				continue
			}
			why := g.runCase(ctx, c)
			if err := sfs.escapeError(ref.file, paths); err != nil {
				return err
			}
			if len(why) > 0 {
				t.fail(cname, why...)
				continue
			}
			t.pass(cname)
		}
	}
	return nil
}

// gatorSelected returns the cases of test -run selects (all without it):
// those whose "suite/test/case" name matches.
func gatorSelected(suite string, test gatorTest, re *regexp.Regexp) []gatorCase {
	var out []gatorCase
	for _, c := range test.Cases {
		if re == nil || re.MatchString(suite+"/"+test.Name+"/"+c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// gatorRun is one test of a gator suite being run.
type gatorRun struct {
	fsys *suiteFS
	test gatorTest
	eng  *policy.Engine
}

// rel is the name of p, a path of the suite, under the suite's directory.
func (g *gatorRun) rel(p string) string { return g.fsys.join(p) }

// setUp compiles the test's template and constraint into a fresh engine.
// It reports the outcome of the test itself (a template that cannot be
// read or compiled, a skipped template, an invalid test) and returns true
// when the cases are not to be run.
func (g *gatorRun) setUp(t *tally, name string) (done bool) {
	if g.test.Expansion != "" {
		t.fail(name, "expansion (ExpansionTemplates) is not supported by guardrails test")
		return true
	}
	tpl, err := readOne(g.fsys, g.rel(g.test.Template), gatekeeper.IsTemplate, "a ConstraintTemplate (templates.gatekeeper.sh)")
	if err != nil {
		t.fail(name, err.Error())
		return true
	}
	con, err := readOne(g.fsys, g.rel(g.test.Constraint), gatekeeper.IsConstraint, "a constraint (constraints.gatekeeper.sh)")
	if err != nil {
		t.fail(name, err.Error())
		return true
	}
	eng, err := policy.New(policy.Options{Timeout: OfflinePolicyTimeout, ResultCacheSize: -1})
	if err != nil {
		t.fail(name, err.Error())
		return true
	}
	rep := eng.SetGatekeeper([]*unstructured.Unstructured{tpl}, []*unstructured.Unstructured{con})
	conKey := gatekeeper.Key(con.GetKind(), con.GetName())
	if reason, ok := rep.Skipped[tpl.GetName()]; ok {
		t.skip(name, report.Skipped{Template: tpl.GetName(), Reason: reason}.Message())
		return true
	}
	var tplErrs, conErrs []string
	for _, key := range slices.Sorted(maps.Keys(rep.Errors)) {
		ces := rep.Errors[key]
		for _, ce := range ces {
			msg := fmt.Sprintf("%s: %s", key, ce.Error())
			if key == conKey {
				conErrs = append(conErrs, msg)
			} else {
				tplErrs = append(tplErrs, msg) // the template's, or one naming neither
			}
		}
	}
	switch {
	case len(tplErrs) > 0:
		t.fail(name, append([]string{"the template is refused:"}, tplErrs...)...)
		return true
	case g.test.Invalid && len(conErrs) > 0:
		t.pass(name + " (invalid constraint refused)")
		return true
	case g.test.Invalid:
		t.fail(name, "invalid: true, but the constraint was accepted")
		return true
	case len(conErrs) > 0:
		t.fail(name, append([]string{"the constraint is refused:"}, conErrs...)...)
		return true
	}
	g.eng = eng
	return false
}

// runCase reviews the case's object and returns why it failed, or nothing.
func (g *gatorRun) runCase(ctx context.Context, c gatorCase) []string {
	objFile := g.rel(c.Object)
	objs, err := readObjects(g.fsys, objFile)
	if err != nil {
		return []string{err.Error()}
	}
	if len(objs) != 1 {
		return []string{fmt.Sprintf("%s defines %d objects, want 1", objFile, len(objs))}
	}
	req, err := reviewRequest(objs[0])
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", objFile, err)}
	}
	for _, p := range c.Inventory {
		inv, err := readObjects(g.fsys, g.rel(p))
		if err != nil {
			return []string{err.Error()}
		}
		req.Inventory = append(req.Inventory, inv...)
	}
	req.Namespace = reviewNamespace(req, req.Inventory)
	d, err := g.eng.Review(ctx, req)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", objFile, err)}
	}
	var messages []string
	for _, r := range d.Results {
		if r.Enforcement == policy.EnforcementError {
			return []string{fmt.Sprintf("%s: %s could not be evaluated: %s", objFile, r.Policy, r.Message)}
		}
		messages = append(messages, r.Message)
	}
	if len(c.Assertions) == 0 {
		// No assertion: the object is expected to pass.
		none := gatorAssertion{Violations: &violations{intstr.FromString("no")}}
		if why := none.check(messages); why != "" {
			return []string{objFile + ": " + why}
		}
		return nil
	}
	var out []string
	for i := range c.Assertions {
		if why := c.Assertions[i].check(messages); why != "" {
			out = append(out, fmt.Sprintf("%s: assertions[%d]: %s", objFile, i, why))
		}
	}
	return out
}

// reviewRequest is the review of obj, or of the request an AdmissionReview
// (admission.k8s.io) carries: its object, oldObject, operation, user and
// namespace.
func reviewRequest(obj *unstructured.Unstructured) (policy.ReviewRequest, error) {
	gvk := obj.GroupVersionKind()
	if gvk.Kind != "AdmissionReview" || gvk.Group != "admission.k8s.io" {
		return policy.ReviewRequest{Object: obj, Operation: policy.OperationCreate}, nil
	}
	r, ok := obj.Object["request"].(map[string]any)
	if !ok {
		return policy.ReviewRequest{}, fmt.Errorf("AdmissionReview: request is missing")
	}
	req := policy.ReviewRequest{Operation: policy.OperationCreate}
	if o, ok := r["object"].(map[string]any); ok {
		req.Object = &unstructured.Unstructured{Object: o}
	}
	if o, ok := r["oldObject"].(map[string]any); ok {
		req.OldObject = &unstructured.Unstructured{Object: o}
	}
	if req.Object == nil && req.OldObject == nil {
		return req, fmt.Errorf("AdmissionReview: request has no object or oldObject to review")
	}
	if op, _ := r["operation"].(string); op != "" {
		req.Operation = policy.Operation(op)
	}
	if ns, _ := r["namespace"].(string); ns != "" {
		req.Namespace.Name = ns
	}
	if u, ok := r["userInfo"].(map[string]any); ok {
		user := &policy.User{}
		user.Username, _ = u["username"].(string)
		groups, _ := u["groups"].([]any)
		for _, g := range groups {
			if s, ok := g.(string); ok {
				user.Groups = append(user.Groups, s)
			}
		}
		req.User = user
	}
	return req, nil
}

// reviewNamespace is the namespace of the reviewed object, with the labels
// of the Namespace of that name among the inventory, if there is one.
func reviewNamespace(req policy.ReviewRequest, inventory []*unstructured.Unstructured) policy.Namespace {
	ns := req.Namespace
	if ns.Name == "" {
		obj := req.Object
		if obj == nil {
			obj = req.OldObject
		}
		ns.Name = obj.GetNamespace()
	}
	if ns.Name == "" {
		return ns
	}
	for _, o := range inventory {
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" && o.GetName() == ns.Name {
			ns.Labels = o.GetLabels()
		}
	}
	return ns
}

// readLimited reads a file of a suite, refusing one larger than
// --max-file-size's default.
func readLimited(fsys fs.FS, file string) ([]byte, error) {
	info, err := fs.Stat(fsys, file)
	if err != nil {
		return nil, &manifest.InputError{File: file, Msg: manifest.CleanPathError(err)}
	}
	if info.Size() > manifest.DefaultMaxFileSize {
		return nil, &manifest.InputError{File: file, Msg: fmt.Sprintf("the file is %d bytes, more than %d", info.Size(), manifest.DefaultMaxFileSize)}
	}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, &manifest.InputError{File: file, Msg: manifest.CleanPathError(err)}
	}
	return data, nil
}

// readObjects reads the Kubernetes objects of a file (Lists expanded).
func readObjects(fsys fs.FS, file string) ([]*unstructured.Unstructured, error) {
	data, err := readLimited(fsys, file)
	if err != nil {
		return nil, err
	}
	docs, errs := manifest.ParseDocuments(file, data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{Object: d.Object}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, &manifest.InputError{File: d.File, Line: d.Line, Msg: "not a Kubernetes object: apiVersion or kind is missing"}
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, &manifest.InputError{File: d.File, Line: d.Line, Msg: err.Error()}
			}
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, &manifest.InputError{File: file, Msg: "no Kubernetes object in the file"}
	}
	return out, nil
}

// readOne reads the one object of a file, of the kind is tells.
func readOne(fsys fs.FS, file string, is func(schema.GroupVersionKind) bool, what string) (*unstructured.Unstructured, error) {
	objs, err := readObjects(fsys, file)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, &manifest.InputError{File: file, Msg: fmt.Sprintf("defines %d objects, want one, %s", len(objs), what)}
	}
	if !is(objs[0].GroupVersionKind()) {
		return nil, &manifest.InputError{File: file, Msg: fmt.Sprintf("%s is not %s", objs[0].GroupVersionKind(), what)}
	}
	return objs[0], nil
}
