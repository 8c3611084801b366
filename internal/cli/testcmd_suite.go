package cli

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/internal/manifest"
	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/report"
	"sigs.k8s.io/yaml"
)

// Suite is a fixture suite, a guardrails-test.yaml file: inputs checked as
// `guardrails check` would, and the results expected per object.
//
//	name: built-ins deny
//	now: "2026-12-01T00:00:00Z"
//	inputs: [common/, deny/]        # relative to this file
//	cases:
//	  - object: MarketingWorkload/growth-marketing/bad-registry
//	    expect:
//	      deny: [allowed-registries]
//	      warn: []
//
// For every enforcement level a case lists (deny, warn, audit, error, and
// waived for results an exception waives), the set of policies with a
// result at that level must be exactly the list. A case that lists no level
// expects the object to pass: no deny, warn, audit or error result.
type Suite struct {
	Name      string   `json:"name"`
	Now       string   `json:"now,omitempty"`
	Inputs    []string `json:"inputs"`
	Standard  string   `json:"standard,omitempty"`
	Vendors   []string `json:"vendors,omitempty"`
	Policies  []string `json:"policies,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Cases     []Case   `json:"cases"`
}

// Case is the expectation on one object of a suite.
type Case struct {
	Name   string      `json:"name,omitempty"`
	Object string      `json:"object"` // Kind/namespace/name, or Kind/name for cluster-scoped kinds
	Expect Expectation `json:"expect,omitempty"`
}

// Expectation lists, per enforcement level, the policies expected to give
// a result at that level; a nil list is not checked.
type Expectation struct {
	Deny   *[]string `json:"deny,omitempty"`
	Warn   *[]string `json:"warn,omitempty"`
	Audit  *[]string `json:"audit,omitempty"`
	Error  *[]string `json:"error,omitempty"`
	Waived *[]string `json:"waived,omitempty"`
}

// levels returns the listed levels and their expected policies; all
// unwaived levels empty when none is listed.
func (x Expectation) levels() []expectedLevel {
	var out []expectedLevel
	for _, l := range []struct {
		name string
		list *[]string
	}{{report.OutcomeDeny, x.Deny}, {report.OutcomeWarn, x.Warn}, {report.OutcomeAudit, x.Audit}, {report.OutcomeError, x.Error}, {"waived", x.Waived}} {
		if l.list != nil {
			out = append(out, expectedLevel{level: l.name, policies: uniqueSorted(*l.list)})
		}
	}
	if len(out) == 0 {
		for _, l := range []string{report.OutcomeDeny, report.OutcomeWarn, report.OutcomeAudit, report.OutcomeError} {
			out = append(out, expectedLevel{level: l, policies: []string{}})
		}
	}
	return out
}

type expectedLevel struct {
	level    string
	policies []string
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// actual returns the policies with a result at level in o.
func actual(o *report.ObjectReport, level string) []string {
	out := []string{}
	for _, r := range o.Results {
		switch {
		case level == "waived" && r.Waived():
			out = append(out, r.Policy)
		case level != "waived" && !r.Waived() && r.Enforcement == level:
			out = append(out, r.Policy)
		}
	}
	return uniqueSorted(out)
}

// readSuite parses and checks a suite file. It returns the paths the suite
// names, with their lines.
func readSuite(fsys fs.FS, file string) (*Suite, []suitePath, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, nil, &manifest.InputError{File: file, Msg: manifest.CleanPathError(err)}
	}
	var s Suite
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, nil, &manifest.InputError{File: file, Msg: "invalid fixture suite: " + oneLine(err.Error())}
	}
	if len(s.Inputs) == 0 {
		return nil, nil, &manifest.InputError{File: file, Msg: "invalid fixture suite: inputs is empty"}
	}
	if len(s.Cases) == 0 {
		return nil, nil, &manifest.InputError{File: file, Msg: "invalid fixture suite: cases is empty"}
	}
	if s.Now != "" {
		now, err := time.Parse(time.RFC3339, s.Now)
		if err != nil {
			return nil, nil, &manifest.InputError{File: file, Msg: fmt.Sprintf("invalid fixture suite: now %q is not an RFC 3339 time", s.Now)}
		}
		if err := policy.CheckTime("now", now); err != nil {
			return nil, nil, &manifest.InputError{File: file, Msg: "invalid fixture suite: " + err.Error()}
		}
	}
	for i, c := range s.Cases {
		parts := strings.Split(c.Object, "/")
		if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, nil, &manifest.InputError{File: file, Msg: fmt.Sprintf("invalid fixture suite: cases[%d].object %q is not Kind/namespace/name or Kind/name", i, c.Object)}
		}
	}
	if s.Name == "" {
		s.Name = file
	}
	lines := newYAMLLines(data)
	var paths []suitePath
	for _, list := range []struct {
		field string
		paths []string
	}{{"inputs", s.Inputs}, {"vendors", s.Vendors}, {"policies", s.Policies}} {
		for i, p := range list.paths {
			paths = append(paths, suitePath{field: fmt.Sprintf("%s[%d]", list.field, i), line: lines.line(list.field, i), path: p})
		}
	}
	if s.Standard != "" {
		paths = append(paths, suitePath{field: "standard", line: lines.line("standard"), path: s.Standard})
	}
	return &s, paths, nil
}

// runSuite checks a suite's inputs and compares each case.
func runSuite(ctx context.Context, t *tally, ref suiteRef, re *regexp.Regexp) error {
	s, paths, err := readSuite(ref.fsys, ref.file)
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
	rel := sfs.join
	in := &inputFlags{namespace: cmp.Or(s.Namespace, manifest.DefaultNamespace)}
	for _, p := range s.Inputs {
		in.files = append(in.files, rel(p))
	}
	for _, p := range s.Vendors {
		in.vendors = append(in.vendors, rel(p))
	}
	for _, p := range s.Policies {
		in.policies = append(in.policies, rel(p))
	}
	if s.Standard != "" {
		in.standard = rel(s.Standard)
	}
	if s.Now != "" {
		_ = in.now.Set(s.Now) // checked by readSuite
	}

	var selected []Case
	for _, c := range s.Cases {
		if re == nil || re.MatchString(s.Name+"/"+caseName(c)) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		return nil
	}
	prefix := fmt.Sprintf("fixture %s: ", s.Name)
	res, errs := checkInputs(ctx, &env{fsys: sfs}, in)
	if err := sfs.escapeError(ref.file, paths); err != nil {
		return err // a symbolic link out, found in a directory
	}
	if len(errs) > 0 {
		var details []string
		for _, err := range errs {
			details = append(details, err.Error())
		}
		for _, c := range selected {
			t.fail(prefix+caseName(c), append([]string{"the inputs are bad:"}, details...)...)
		}
		return nil
	}
	byRef := make(map[string]*report.ObjectReport, len(res.reports))
	for _, o := range res.reports {
		byRef[o.Ref()] = o
	}
	for _, c := range selected {
		name := prefix + caseName(c)
		o, ok := byRef[c.Object]
		if !ok {
			t.fail(name, fmt.Sprintf("%s is not among the inputs checked (%s)", c.Object, strings.Join(s.Inputs, ", ")))
			continue
		}
		var diffs []string
		for _, l := range c.Expect.levels() {
			got := actual(o, l.level)
			if !slices.Equal(got, l.policies) {
				diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", l.level, list(got), list(l.policies)))
			}
		}
		if len(diffs) == 0 {
			t.pass(name)
			continue
		}
		details := append([]string{o.Pos() + ":"}, diffs...)
		for _, r := range o.Results {
			details = append(details, fmt.Sprintf("  %s %s: %s", r.Enforcement, r.Policy, r.Message))
		}
		t.fail(name, details...)
	}
	return nil
}

func caseName(c Case) string {
	if c.Name != "" {
		return c.Object + " (" + c.Name + ")"
	}
	return c.Object
}

func list(s []string) string { return "[" + strings.Join(s, ", ") + "]" }
