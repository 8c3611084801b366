package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"slices"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy"
)

// Inputs name what Load reads.
type Inputs struct {
	FS    fs.FS     // files, by slash-separated path (OSFS for the disk)
	Stdin io.Reader // "-" among the paths; nil when there is none
	// Files are the subjects: their objects are checked and reported.
	Files []string
	// Context are read for the world the subjects are judged in (a Vendor
	// catalogue, GuardrailPolicies and PolicyExceptions), not reported.
	Context []string
	// Standard, when set, is a file whose PlatformStandard is in force
	// for every object.
	Standard string
	// Namespace is given to namespaced objects that name none.
	Namespace string
	Limits    Limits
}

func (in Inputs) reader(check func(*Document)) *reader {
	return &reader{fsys: in.FS, stdin: in.Stdin, limits: in.Limits, check: check}
}

// Load reads, validates and defaults the inputs: every object of our group
// is validated against its CRD (schema and CEL rules) and defaulted as the
// API server would, then held typed in the World. Each file is read once
// and each document decoded once. It returns every bad-input error found,
// each an *InputError naming its file and line.
func Load(ctx context.Context, in Inputs) (*World, []error) {
	r := in.reader(checkEarly(ctx, in.Namespace))
	w := newWorld()
	var errs []error
	subjects, rerrs := r.readPaths(in.Files)
	errs = append(errs, rerrs...)
	catalogue, rerrs := r.readPaths(in.Context)
	errs = append(errs, rerrs...)
	for _, d := range subjects {
		errs = append(errs, admit(ctx, w, d, true, in.Namespace)...)
	}
	for _, d := range catalogue {
		errs = append(errs, admit(ctx, w, d, false, in.Namespace)...)
	}
	if in.Standard != "" {
		std, serrs := loadStandard(ctx, r, in.Standard, in.Namespace)
		errs = append(errs, serrs...)
		w.standard = std
	}
	return w, errs
}

// LoadStandard reads in.Standard alone: the one PlatformStandard in the
// file, or the one named default among several.
func LoadStandard(ctx context.Context, in Inputs) (*v1alpha1.PlatformStandard, []error) {
	return loadStandard(ctx, in.reader(nil), in.Standard, in.Namespace)
}

// loadStandard reads --standard: the one PlatformStandard in the file, or
// the one named default among several.
func loadStandard(ctx context.Context, r *reader, file, namespace string) (*v1alpha1.PlatformStandard, []error) {
	docs, errs := r.readPaths([]string{file})
	side := newWorld()
	for _, d := range docs {
		errs = append(errs, admit(ctx, side, d, false, namespace)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	stds := Objects[*v1alpha1.PlatformStandard](side)
	switch {
	case len(stds) == 1:
		return stds[0], nil
	case len(stds) == 0:
		return nil, []error{&InputError{File: file, Msg: "--standard: no PlatformStandard in the file"}}
	}
	for _, s := range stds {
		if s.Name == v1alpha1.DefaultStandardName {
			return s, nil
		}
	}
	return nil, []error{&InputError{File: file, Msg: fmt.Sprintf("--standard: %d PlatformStandards and none named %q", len(stds), v1alpha1.DefaultStandardName)}}
}

// admit classifies one document: one of our objects is validated against
// its CRD (schema and CEL), defaulted and added to the World; a List is
// expanded; Gatekeeper templates and constraints, Namespaces and Secrets
// are recorded; anything else goes in the inventory (data.inventory).
func admit(ctx context.Context, w *World, d *Document, subject bool, namespace string) []error {
	if v := d.checked; v != nil {
		d.checked = nil // held by the item from now on
		if len(v.errs) > 0 {
			return v.errs
		}
		return addTyped(w, d, v.kind, v.obj, subject)
	}
	if d.foreign != nil {
		d.foreign.namespace = namespace
		w.packed = append(w.packed, d)
		return nil
	}
	apiVersion, _ := d.Object["apiVersion"].(string)
	kind, _ := d.Object["kind"].(string)
	switch {
	case apiVersion == "" && kind == "":
		return []error{docError(d, "not a Kubernetes object: apiVersion and kind are missing")}
	case apiVersion == "":
		return []error{docError(d, "%s: apiVersion is missing", kind)}
	case kind == "":
		return []error{docError(d, "kind is missing (apiVersion %s)", apiVersion)}
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return []error{docError(d, "invalid apiVersion %q", apiVersion)}
	}
	if items, ok := d.Object["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		var errs []error
		for i, x := range items {
			m, ok := x.(map[string]any)
			if !ok {
				errs = append(errs, &InputError{File: d.File, Line: d.itemLine(i), Msg: fmt.Sprintf("%s items[%d] is not an object", kind, i)})
				continue
			}
			errs = append(errs, admit(ctx, w, &Document{File: d.File, Line: d.itemLine(i), Object: m, text: d.text, firstLine: d.firstLine}, subject, namespace)...)
		}
		return errs
	}
	if gv.Group != v1alpha1.GroupVersion.Group {
		if err := w.ingestForeign(d, gv.WithKind(kind), namespace); err != nil {
			return []error{docError(d, "%s: %v", kind, err)}
		}
		return nil
	}

	all, err := schemas()
	if err != nil {
		return []error{fmt.Errorf("loading the CRD schemas: %w", err)}
	}
	ks := all[kind]
	if ks == nil {
		return []error{docError(d, "unknown kind %q in %s (want one of %s)", kind, v1alpha1.GroupVersion.Group, kindNames(all))}
	}
	if gv.Version != v1alpha1.GroupVersion.Version {
		return []error{docError(d, "%s: unknown version %q of %s (want %s)", kind, gv.Version, v1alpha1.GroupVersion.Group, v1alpha1.GroupVersion)}
	}
	v := validateTyped(ctx, ks, d, kind, namespace)
	if len(v.errs) > 0 {
		return v.errs
	}
	d.forget(kind)
	return addTyped(w, d, kind, v.obj, subject)
}

func addTyped(w *World, d *Document, kind string, obj client.Object, subject bool) []error {
	return addItem(w, d, newItem(d, kind, obj, subject))
}

func addItem(w *World, d *Document, it *Item) []error {
	if err := w.add(it); err != nil {
		return []error{docError(d, "%v", err)}
	}
	return nil
}

// forget drops what is no longer needed once the typed object is held: the
// document keeps its position, and its source only where errors may point
// into it (a GuardrailPolicy's Rego), so that memory follows the objects,
// not their text twice over.
func (d *Document) forget(kind string) {
	d.Object = nil
	if kind != v1alpha1.KindGuardrailPolicy {
		d.text = nil
	}
}

// validated is one of our documents validated against its CRD and typed.
type validated struct {
	kind string
	obj  client.Object
	errs []error
}

// validateTyped validates d, a document of one of our kinds, against the
// kind's schema (defaulting it) and converts it to the typed object.
func validateTyped(ctx context.Context, ks *kindSchema, d *Document, kind, namespace string) validated {
	// The object as written (admit sets the namespace), for messages only:
	// formatted when there is one.
	var name, ns string
	if md, ok := d.Object["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
		ns, _ = md["namespace"].(string)
	}
	label := func() string {
		if name == "" {
			return kind
		}
		return kind + " " + nsName(ns, name)
	}
	var errs []error
	for _, p := range ks.admit(ctx, d.Object, namespace) {
		errs = append(errs, docError(d, "%s: %s", label(), p))
	}
	if len(errs) > 0 {
		return validated{kind: kind, errs: errs}
	}
	obj, err := d.typed(kind)
	if err != nil {
		return validated{kind: kind, errs: []error{docError(d, "%s: %v", label(), err)}}
	}
	return validated{kind: kind, obj: obj}
}

// ourKind returns the kind of a document of our group and version, or "".
func (d *Document) ourKind() string {
	if apiVersion, _ := d.Object["apiVersion"].(string); apiVersion != v1alpha1.GroupVersion.String() {
		return ""
	}
	kind, _ := d.Object["kind"].(string)
	return kind
}

// typed converts the (admitted) document to the typed object of kind.
func (d *Document) typed(kind string) (client.Object, error) {
	obj := newTyped(kind)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkEarly validates d right after its file is parsed, when it is plainly
// one of our objects (not a List; a known kind and version): the costly
// part of reading the inputs then runs on the parsing goroutines, and the
// document's parsed map is dropped at once, so that memory holds the typed
// objects rather than their maps as well. admit adds the object in input
// order, and validates anything else itself.
func checkEarly(ctx context.Context, namespace string) func(*Document) {
	return func(d *Document) {
		all, err := schemas()
		if err != nil {
			return // admit reports it
		}
		kind := d.ourKind()
		if all[kind] == nil {
			d.packForeign()
			return
		}
		v := validateTyped(ctx, all[kind], d, kind, namespace)
		d.checked = &v
		if len(v.errs) == 0 {
			d.forget(kind)
		}
	}
}

// CompileError places a policy compile error: the GuardrailPolicy's
// document, the module and line:col inside it, and, when the module is a
// YAML block scalar, the line and column in the file.
func CompileError(it *Item, ce policy.CompileError) error {
	where := ce.Module
	switch {
	case where == "rego":
		where = "spec.rego"
	case strings.HasPrefix(where, "libs["):
		where = "spec." + where
	}
	where = modulePlace(where, it.doc, policyModule(it.doc, ce.Module), ce.Line, ce.Column)
	if where != "" {
		where += ": "
	}
	err := &InputError{Msg: fmt.Sprintf("GuardrailPolicy %s does not compile: %s%s", it.Object.GetName(), where, ce.Message)}
	if it.doc != nil {
		err.File, err.Line = it.doc.File, it.doc.Line
	}
	return err
}

// policyModule is the YAML node of a GuardrailPolicy's module (spec.rego
// or spec.libs[i]) in d, nil when it is not known.
func policyModule(d *Document, module string) *yaml.Node {
	spec := mapValue(docRoot(d), "spec")
	switch {
	case module == "rego":
		return mapValue(spec, "rego")
	case strings.HasPrefix(module, "libs["):
		return libNode(mapValue(spec, "libs"), module)
	}
	return nil
}

// modulePlace is where, the field of a module, and the line:col of an
// error in it (none when line is 0), followed by the place in the file
// when n, the module's node in d, is a YAML block scalar (rego: |).
func modulePlace(where string, d *Document, n *yaml.Node, line, col int) string {
	if line <= 0 {
		return where
	}
	where += fmt.Sprintf(":%d", line)
	if col > 0 {
		where += fmt.Sprintf(":%d", col)
	}
	if fileLine, fileCol, ok := blockLine(d, n, line, col); ok {
		where += fmt.Sprintf(" (%s:%d:%d)", d.File, fileLine, fileCol)
	}
	return where
}

// docRoot is the YAML node of d's object, nil when there is no source.
func docRoot(d *Document) *yaml.Node {
	if d == nil || len(d.text) == 0 {
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(d.text, &root); err != nil || len(root.Content) == 0 {
		return nil
	}
	return root.Content[0]
}

// libNode is entry i of libs for module "libs[i]".
func libNode(libs *yaml.Node, module string) *yaml.Node {
	var i int
	if _, err := fmt.Sscanf(module, "libs[%d]", &i); err != nil {
		return nil
	}
	if libs != nil && libs.Kind == yaml.SequenceNode && i < len(libs.Content) {
		return libs.Content[i]
	}
	return nil
}

// blockLine maps line:col of the text of n, a literal block scalar of d
// (key: |), to the file.
func blockLine(d *Document, n *yaml.Node, line, col int) (int, int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 || n.Style&yaml.FoldedStyle != 0 {
		return 0, 0, false
	}
	// Block content starts on the line after the indicator; its indentation
	// is that of its first non-blank line.
	lines := strings.Split(string(d.text), "\n")
	indent := -1
	for i := n.Line; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t != "" {
			indent = len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
			break
		}
	}
	if indent < 0 {
		return 0, 0, false
	}
	return d.firstLine - 1 + n.Line + line, indent + col, true
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// SortErrors orders input errors by file and line, keeping the order of
// errors at the same place.
func SortErrors(errs []error) []error {
	pos := func(err error) (string, int) {
		var ie *InputError
		if errors.As(err, &ie) {
			return ie.File, ie.Line
		}
		return "", 0
	}
	slices.SortStableFunc(errs, func(a, b error) int {
		fa, la := pos(a)
		fb, lb := pos(b)
		if c := strings.Compare(fa, fb); c != 0 {
			return c
		}
		return la - lb
	})
	return errs
}
