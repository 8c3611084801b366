// Command chartgen writes the Helm chart charts/martech-guardrails from
// config/, so that the kustomize install and the chart have one source of
// truth: `make chart` runs it, `make verify-chart` (part of `make test`)
// fails when the committed chart differs from what it writes.
//
// It renders config/default (the install with the operator's own
// certificates), config/certmanager, and config/default once more for each
// optional component commented out in config/default/kustomization.yaml
// ("# - ../prometheus"), with the project's own kubectl kustomize. Each
// rendered object becomes one template, unconditional when every render has
// it unchanged, under `certManager.enabled` when only one of the two
// certificate renders has it (both versions when they differ), and under the
// component's value when only that component brings it. The namespace
// becomes the release namespace; the Deployment's replicas, image,
// resources, scheduling and the flags listed in deploymentFlags become values
// whose defaults are read from config/manager, and the webhooks'
// failurePolicy and timeoutSeconds can be overridden. Nothing about the
// webhooks, the kinds or their names is written here: they come from config/.
//
// Usage: go run ./hack/chartgen -kubectl bin/k8s/kubectl -out charts/martech-guardrails
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartName = "martech-guardrails"
	// namespace is the one config/default installs into; in the chart it
	// is the release namespace.
	namespace = "guardrails-system"
)

// deploymentFlags are the manager flags that become values when
// config/manager passes them: flag → value path. A flag config/manager does
// not pass (yet) has no value; it appears when config/ gains it.
var deploymentFlags = []struct{ flag, value, doc string }{
	{"--zap-log-level", "logLevel", "Log level of the manager: debug, info, error, or an integer verbosity."},
	{"--shutdown-drain", "shutdownDrain", "How long a stopping replica keeps serving admission requests after it turned unready; keep it below terminationGracePeriodSeconds."},
	{"--audit-interval", "audit.interval", "How often the background audit re-judges every object."},
	{"--audit-workers", "audit.workers", "Goroutines the audit evaluates on (0: GOMAXPROCS)."},
	{"--report-api", "audit.reportAPI", "The report API the audit writes: openreports.io/v1alpha1 (Report, ClusterReport), wgpolicyk8s.io/v1alpha2 (PolicyReport, ClusterPolicyReport) or none."},
	{"--report-max-results", "audit.reportMaxResults", "Results kept in one report (the summary counts stay exact)."},
}

// optionalValues name the value of an optional component of
// config/default; a component not listed gets "<dir>.enabled".
var optionalValues = map[string]string{"prometheus": "metrics.serviceMonitor.enabled"}

func main() {
	kubectl := flag.String("kubectl", "bin/k8s/kubectl", "kubectl to run kustomize with")
	config := flag.String("config", "config", "the config/ directory")
	out := flag.String("out", "charts/"+chartName, "chart directory to (re)write")
	version := flag.String("version", "0.1.0", "chart version and appVersion")
	health := flag.String("health", "internal/gitops/health.lua", "the Argo CD health check, for every kind")
	flag.Parse()
	if err := run(*kubectl, *config, *out, *version, *health); err != nil {
		fmt.Fprintln(os.Stderr, "chartgen:", err)
		os.Exit(1)
	}
}

func run(kubectl, config, out, version, healthFile string) error {
	healthLua, err := os.ReadFile(healthFile)
	if err != nil {
		return err
	}
	r := renderer{kubectl: kubectl}
	base, err := r.render(config, "default", nil)
	if err != nil {
		return err
	}
	certManager, err := r.render(config, "certmanager", nil)
	if err != nil {
		return err
	}
	components, err := optionalComponents(filepath.Join(config, "default", "kustomization.yaml"))
	if err != nil {
		return err
	}
	c := &chart{version: version, healthLua: healthLua}
	for _, o := range base {
		if o.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			c.kinds = append(c.kinds, group+"_"+kind)
		}
	}
	c.addCertificateVariants(base, certManager)
	for _, comp := range components {
		with, err := r.render(config, "default", []string{comp})
		if err != nil {
			return err
		}
		value := optionalValues[comp]
		if value == "" {
			value = comp + ".enabled"
		}
		for _, o := range with {
			if findObject(base, key(o)) == nil {
				c.add(o, ".Values."+value)
				c.optional = append(c.optional, optional{dir: comp, value: value})
			}
		}
	}
	if c.err != nil {
		return c.err
	}
	if c.deployment == nil {
		return fmt.Errorf("config/default renders no Deployment")
	}
	return c.write(out)
}

// renderer runs kubectl kustomize on a copy of config/, so that optional
// components can be switched on without touching the tree.
type renderer struct{ kubectl string }

func (r renderer) render(config, dir string, enable []string) ([]*unstructured.Unstructured, error) {
	tmp, err := os.MkdirTemp("", "chartgen-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := copyTree(config, filepath.Join(tmp, "config")); err != nil {
		return nil, err
	}
	if len(enable) > 0 {
		k := filepath.Join(tmp, "config", "default", "kustomization.yaml")
		b, err := os.ReadFile(k)
		if err != nil {
			return nil, err
		}
		for _, comp := range enable {
			b = regexp.MustCompile(`(?m)^(\s*)#\s*(- \.\./`+regexp.QuoteMeta(comp)+`)\s*$`).ReplaceAll(b, []byte("$1$2"))
		}
		if err := os.WriteFile(k, b, 0o600); err != nil {
			return nil, err
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(r.kubectl, "kustomize", filepath.Join(tmp, "config", dir))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s kustomize config/%s: %w: %s", r.kubectl, dir, err, stderr.String())
	}
	return decode(&stdout)
}

func decode(b *bytes.Buffer) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(b, 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// optionalComponents are the directories config/default lists commented out
// ("# - ../prometheus").
func optionalComponents(kustomization string) ([]string, error) {
	b, err := os.ReadFile(kustomization)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\s*#\s*- \.\./([a-z0-9-]+)\s*$`).FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	return out, nil
}

func copyTree(src, dst string) error {
	return os.CopyFS(dst, os.DirFS(src))
}

func key(u *unstructured.Unstructured) string {
	return u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func findObject(objs []*unstructured.Unstructured, k string) *unstructured.Unstructured {
	for _, o := range objs {
		if key(o) == k {
			return o
		}
	}
	return nil
}

type optional struct{ dir, value string }

type template struct {
	file string
	body string
}

type chart struct {
	version    string
	templates  []template
	deployment *unstructured.Unstructured // config's, for the values' defaults
	flags      map[string]string          // flag → its value in config
	optional   []optional
	kinds      []string // group_Kind of each CRD, for Argo CD
	healthLua  []byte
	err        error // the first object chartgen could not template
}

// addCertificateVariants adds every object of the two certificate renders.
func (c *chart) addCertificateVariants(base, certManager []*unstructured.Unstructured) {
	for _, o := range base {
		other := findObject(certManager, key(o))
		switch {
		case o.GetKind() == "Namespace":
			c.add(o, ".Values.namespace.create")
		case other == nil:
			c.add(o, "not .Values.certManager.enabled")
		case equalObjects(o, other):
			c.add(o, "")
		default:
			c.addEither(other, o)
		}
	}
	for _, o := range certManager {
		if findObject(base, key(o)) == nil {
			c.add(o, ".Values.certManager.enabled")
		}
	}
}

func equalObjects(a, b *unstructured.Unstructured) bool {
	x, _ := yaml.Marshal(a.Object)
	y, _ := yaml.Marshal(b.Object)
	return bytes.Equal(x, y)
}

func fileName(o *unstructured.Unstructured) string {
	name := strings.TrimPrefix(o.GetName(), "guardrails-")
	return strings.ToLower(o.GetKind()) + "-" + strings.ReplaceAll(name, ".", "-") + ".yaml"
}

// add writes o as a template, under cond when cond is set.
func (c *chart) add(o *unstructured.Unstructured, cond string) {
	body := c.templated(o)
	if cond != "" {
		body = "{{- if " + cond + " }}\n" + body + "{{- end }}\n"
	}
	c.templates = append(c.templates, template{file: fileName(o), body: body})
}

// addEither writes one template holding withCM when cert-manager is enabled
// and without otherwise.
func (c *chart) addEither(withCM, without *unstructured.Unstructured) {
	body := "{{- if .Values.certManager.enabled }}\n" + c.templated(withCM) +
		"{{- else }}\n" + c.templated(without) + "{{- end }}\n"
	c.templates = append(c.templates, template{file: fileName(without), body: body})
}

// placeholders stand in the object where a template expression goes; they
// are replaced after marshalling.
type placeholders struct {
	scalar map[string]string // placeholder → expression
	block  map[string]block
}

type block struct {
	expr     string
	optional bool // omit the key when the value is empty
}

func (p *placeholders) s(expr string) string {
	k := fmt.Sprintf("__TPL_S%d__", len(p.scalar))
	p.scalar[k] = expr
	return k
}

func (p *placeholders) b(expr string, optional bool) string {
	k := fmt.Sprintf("__TPL_B%d__", len(p.block))
	p.block[k] = block{expr, optional}
	return k
}

const labelsPlaceholder = "__TPL_LABELS__"
const extraArgsPlaceholder = "__TPL_EXTRA_ARGS__"

// templated marshals o with the chart's expressions in it.
func (c *chart) templated(orig *unstructured.Unstructured) string {
	o := orig.DeepCopy()
	p := &placeholders{scalar: map[string]string{}, block: map[string]block{}}
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[labelsPlaceholder] = "x"
	o.SetLabels(labels)
	switch o.GetKind() {
	case "Namespace":
		o.SetName(namespace)
	case "CustomResourceDefinition":
		// Uninstalling the chart must not delete every custom resource.
		ann := o.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann["helm.sh/resource-policy"] = "keep"
		o.SetAnnotations(ann)
	case "Deployment":
		c.templateDeployment(o, p)
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
		for i, h := range hooks {
			m, ok := h.(map[string]any)
			if !ok {
				c.fail(fmt.Errorf("%s %s: webhooks[%d] is not an object", o.GetKind(), o.GetName(), i))
				continue
			}
			if fp, ok := m["failurePolicy"].(string); ok {
				m["failurePolicy"] = p.s(fmt.Sprintf("default %q .Values.webhooks.failurePolicy", fp))
			}
			if t, ok := number(m["timeoutSeconds"]); ok {
				m["timeoutSeconds"] = p.s(fmt.Sprintf("default %d .Values.webhooks.timeoutSeconds", t))
			}
		}
		_ = unstructured.SetNestedSlice(o.Object, hooks, "webhooks")
	}
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		panic(err) // an object decoded from YAML marshals back
	}
	// Braces already in config/ (descriptions, examples) stay literal.
	text := strings.ReplaceAll(string(b), "{{", `{{"{{"}}`)
	text = strings.ReplaceAll(text, namespace, "{{ .Release.Namespace }}")
	var out strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		out.WriteString(expand(line, p))
	}
	return out.String()
}

var placeholderLine = regexp.MustCompile(`^(\s*)(- )?([^:]*:\s*)?'?(__TPL_[A-Z0-9_]+__)'?(: x)?\s*$`)

// expand replaces a line holding a placeholder with its template text.
func expand(line string, p *placeholders) string {
	m := placeholderLine.FindStringSubmatch(line)
	if m == nil {
		return line
	}
	indent, dash, keyPart, ph := m[1], m[2], m[3], m[4]
	switch ph {
	case labelsPlaceholder:
		return fmt.Sprintf("%s{{- include %q . | nindent %d }}\n", indent, chartName+".labels", len(indent))
	case extraArgsPlaceholder:
		return fmt.Sprintf("%s{{- range .Values.extraArgs }}\n%s- {{ . | quote }}\n%s{{- end }}\n", indent, indent, indent)
	}
	if e, ok := p.scalar[ph]; ok {
		return indent + dash + keyPart + "{{ " + e + " }}\n"
	}
	bl := p.block[ph]
	key := strings.TrimSpace(keyPart)
	if bl.optional {
		return fmt.Sprintf("%s{{- with %s }}\n%s%s {{- toYaml . | nindent %d }}\n%s{{- end }}\n", indent, bl.expr, indent, key, len(indent)+2, indent)
	}
	return fmt.Sprintf("%s%s {{- toYaml %s | nindent %d }}\n", indent, key, bl.expr, len(indent)+2)
}

// templateDeployment makes the manager Deployment's tunables values.
func (c *chart) templateDeployment(o *unstructured.Unstructured, p *placeholders) {
	if c.deployment == nil {
		c.deployment = o.DeepCopy()
	}
	spec, err1 := nestedMap(o.Object, "spec")
	pod, err2 := nestedMap(o.Object, "spec", "template", "spec")
	podMeta, err3 := nestedMap(o.Object, "spec", "template", "metadata")
	ctr, err4 := firstContainer(pod)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		c.fail(fmt.Errorf("the Deployment %s: %w", o.GetName(), err))
		return
	}
	spec["replicas"] = p.s(".Values.replicaCount")
	pod["terminationGracePeriodSeconds"] = p.s(".Values.terminationGracePeriodSeconds")
	pod["affinity"] = p.b(".Values.affinity", true)
	pod["nodeSelector"] = p.b(".Values.nodeSelector", true)
	pod["tolerations"] = p.b(".Values.tolerations", true)
	pod["imagePullSecrets"] = p.b(".Values.imagePullSecrets", true)
	podMeta["annotations"] = p.b(".Values.podAnnotations", true)
	ctr["image"] = p.s(`ternary (printf "%s@%s" .Values.image.repository .Values.image.digest) (printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion)) (not (empty .Values.image.digest))`)
	ctr["imagePullPolicy"] = p.s(".Values.image.pullPolicy")
	ctr["resources"] = p.b(".Values.resources", false)
	args, _ := ctr["args"].([]any)
	if c.flags == nil {
		c.flags = map[string]string{}
	}
	for i, a := range args {
		s, _ := a.(string)
		for _, f := range deploymentFlags {
			if v, ok := strings.CutPrefix(s, f.flag+"="); ok {
				if _, seen := c.flags[f.flag]; !seen {
					c.flags[f.flag] = v
				}
				args[i] = p.s(fmt.Sprintf("printf \"%s=%%v\" .Values.%s | quote", f.flag, f.value))
			}
		}
	}
	ctr["args"] = append(args, extraArgsPlaceholder)
}

// fail keeps the first error of templating, which run returns.
func (c *chart) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// nestedMap returns the object at fields in obj, to change in place.
func nestedMap(obj map[string]any, fields ...string) (map[string]any, error) {
	v, _, err := unstructured.NestedFieldNoCopy(obj, fields...)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", strings.Join(fields, "."))
	}
	return m, nil
}

// firstContainer returns the first of pod's containers, to change in place.
func firstContainer(pod map[string]any) (map[string]any, error) {
	ctrs, _ := pod["containers"].([]any)
	if len(ctrs) == 0 {
		return nil, fmt.Errorf("spec.template.spec.containers is empty")
	}
	ctr, ok := ctrs[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("spec.template.spec.containers[0] is not an object")
	}
	return ctr, nil
}

// number reads a YAML number, decoded as float64 or int64.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}
