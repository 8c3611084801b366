package manifest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/martech-guardrails/guardrails/internal/policy"
	"github.com/martech-guardrails/guardrails/internal/policy/gatekeeper"
)

// Gatekeeper is a Gatekeeper ConstraintTemplate or constraint among the
// inputs (templates.gatekeeper.sh, constraints.gatekeeper.sh), as written,
// with the document it came from.
type Gatekeeper struct {
	Object *unstructured.Unstructured
	doc    *Document
}

// Key is "ConstraintTemplate/<name>" or "<Kind>/<name>", as the engine's
// GatekeeperReport names the object.
func (g *Gatekeeper) Key() string { return gatekeeper.Key(g.Object.GetKind(), g.Object.GetName()) }

// Pos is "file:line" of the object's document.
func (g *Gatekeeper) Pos() string { return g.doc.Pos() }

// GatekeeperTemplates returns the ConstraintTemplates among the inputs, in
// input order.
func (w *World) GatekeeperTemplates() []*Gatekeeper { return w.templates }

// GatekeeperConstraints returns the Gatekeeper constraints among the inputs,
// in input order.
func (w *World) GatekeeperConstraints() []*Gatekeeper { return w.constraints }

// GatekeeperObject returns the template or constraint the engine's report
// names by key ("ConstraintTemplate/<name>", "<Kind>/<name>"), or nil.
func (w *World) GatekeeperObject(key string) *Gatekeeper { return w.gatekeeper[key] }

// Inventory returns the objects of the inputs that are none of our kinds
// and no Gatekeeper template or constraint: what Gatekeeper templates read
// as data.inventory. Secrets are there with their metadata only.
func (w *World) Inventory() []*unstructured.Unstructured {
	w.unpackInventory()
	return w.inventory
}

// DropInventory lets the inventory go, when no template in force reads
// data.inventory: the requests then carry none, and memory holds none.
func (w *World) DropInventory() { w.inventory, w.packed = nil, nil }

// foreign is a document of a kind the CLI does not judge, held as its
// source only: parsed again, into the inventory, if a template reads
// data.inventory (see unpackInventory), and never otherwise. A million
// ConfigMaps then cost their text, not a million maps.
type foreign struct {
	gvk       schema.GroupVersionKind
	namespace string // for an object that names none
}

// packForeign makes d, just parsed, a foreign document when it is one that
// only the inventory takes (not a List, Gatekeeper object, Namespace or
// Secret): its map is dropped, its text kept.
func (d *Document) packForeign() {
	apiVersion, _ := d.Object["apiVersion"].(string)
	kind, _ := d.Object["kind"].(string)
	if apiVersion == "" || kind == "" || strings.HasSuffix(kind, "List") {
		return
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || gv.Group == v1alpha1.GroupVersion.Group {
		return
	}
	gvk := gv.WithKind(kind)
	if gatekeeper.IsTemplate(gvk) || gatekeeper.IsConstraint(gvk) || gv.Group == "" && (kind == "Namespace" || kind == "Secret") {
		return
	}
	d.foreign = &foreign{gvk: gvk}
	d.Object = nil
	d.text = bytes.Clone(d.text)
}

// unpackInventory makes the inventory of the foreign documents, once,
// parsing those held as text: a namespaced object that names no namespace
// is put in the namespace given (--namespace), as kubectl would, unless its
// kind is a well-known cluster-scoped one.
func (w *World) unpackInventory() {
	w.unpack.Do(func() {
		for _, d := range w.packed {
			obj := d.Object
			if obj == nil {
				v, err := decodeYAML(d.text)
				if obj, _ = v.(map[string]any); err != nil || obj == nil {
					continue // parsed once already: it does not happen
				}
			}
			u := &unstructured.Unstructured{Object: obj}
			if u.GetNamespace() == "" && !clusterScoped[d.foreign.gvk.GroupKind()] {
				u.SetNamespace(d.foreign.namespace)
			}
			w.inventory = append(w.inventory, u)
		}
	})
}

// Unstructured returns the objects of gs.
func Unstructured(gs []*Gatekeeper) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(gs))
	for i, g := range gs {
		out[i] = g.Object
	}
	return out
}

// ingestGatekeeper records a Gatekeeper template or constraint; false when
// the document is neither.
func (w *World) ingestGatekeeper(d *Document, gvk schema.GroupVersionKind) (bool, error) {
	isTemplate := gatekeeper.IsTemplate(gvk)
	if !isTemplate && !gatekeeper.IsConstraint(gvk) {
		return false, nil
	}
	// The document's map is not used again: no copy.
	u := &unstructured.Unstructured{Object: d.Object}
	if u.GetName() == "" {
		return true, fmt.Errorf("metadata.name: Required value: name is required")
	}
	g := &Gatekeeper{Object: u, doc: d}
	if prev, ok := w.gatekeeper[g.Key()]; ok {
		if sameDocument(prev.doc, d) {
			return true, nil
		}
		return true, fmt.Errorf("%s is given twice (also at %s)", u.GetName(), prev.Pos())
	}
	w.gatekeeper[g.Key()] = g
	if isTemplate {
		w.templates = append(w.templates, g)
	} else {
		w.constraints = append(w.constraints, g)
	}
	return true, nil
}

// addInventory records a foreign object for data.inventory, in input
// order, held until the inventory is asked for (unpackInventory); of a
// Secret only the metadata is kept.
func (w *World) addInventory(d *Document, gvk schema.GroupVersionKind, namespace string) {
	obj := d.Object
	if gvk.Group == "" && gvk.Kind == "Secret" {
		obj = map[string]any{"apiVersion": d.Object["apiVersion"], "kind": d.Object["kind"], "metadata": d.Object["metadata"]}
	}
	w.packed = append(w.packed, &Document{Object: obj, foreign: &foreign{gvk: gvk, namespace: namespace}})
}

// clusterScoped are the cluster-scoped kinds of Kubernetes itself. Offline
// there is no discovery to ask; a kind not listed is taken as namespaced
// when the object names no namespace.
var clusterScoped = func() map[schema.GroupKind]bool {
	m := map[schema.GroupKind]bool{}
	for _, gk := range []string{
		"Namespace", "Node", "PersistentVolume", "ComponentStatus",
		"ClusterRole.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io",
		"CustomResourceDefinition.apiextensions.k8s.io", "APIService.apiregistration.k8s.io",
		"StorageClass.storage.k8s.io", "CSIDriver.storage.k8s.io", "CSINode.storage.k8s.io", "VolumeAttachment.storage.k8s.io",
		"PriorityClass.scheduling.k8s.io", "RuntimeClass.node.k8s.io", "IngressClass.networking.k8s.io",
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io", "MutatingWebhookConfiguration.admissionregistration.k8s.io",
		"ValidatingAdmissionPolicy.admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io",
		"MutatingAdmissionPolicy.admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding.admissionregistration.k8s.io",
		"CertificateSigningRequest.certificates.k8s.io", "FlowSchema.flowcontrol.apiserver.k8s.io",
		"PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io",
	} {
		m[schema.ParseGroupKind(gk)] = true
	}
	return m
}()

// GatekeeperError places an error the engine reports for a template or
// constraint at its document: "ConstraintTemplate <name> does not compile:
// <field>:<line>:<col> (<file>:<line>:<col>): <message>", the field being
// where the Rego module is (spec.targets[0].rego,
// spec.targets[0].code[i].source.libs[j], ...), the place in the file
// known when the module is a YAML block scalar; "<Kind> <name>: <field>:
// <message>" for a constraint. key is the object's, as the engine's
// report names it.
func (w *World) GatekeeperError(key string, ce policy.CompileError) error {
	g := w.GatekeeperObject(key)
	var b strings.Builder
	kind, name, _ := strings.Cut(key, "/")
	if kind == gatekeeper.TemplateGVK.Kind {
		fmt.Fprintf(&b, "%s %s does not compile: ", kind, name)
	} else {
		fmt.Fprintf(&b, "%s %s: ", kind, name)
	}
	if where := ce.Module; where != "" {
		var d *Document
		var n *yaml.Node
		if g != nil {
			d = g.doc
			if where == "rego" || strings.HasPrefix(where, "libs[") {
				where, n = templateModule(docRoot(d), where)
			}
		}
		b.WriteString(modulePlace(where, d, n, ce.Line, ce.Column))
		b.WriteString(": ")
	}
	b.WriteString(ce.Message)
	err := &InputError{Msg: b.String()}
	if g != nil {
		err.File, err.Line = g.doc.File, g.doc.Line
	}
	return err
}

// templateModule finds a template's module ("rego" or "libs[i]") as the
// engine reads it: in the first code[] entry of engine Rego
// (source.rego, source.libs), else in the target's rego and libs. It
// returns the module's field path and its YAML node (nil when not found).
func templateModule(root *yaml.Node, module string) (string, *yaml.Node) {
	prefix := "spec.targets[0]"
	var target *yaml.Node
	if t := mapValue(mapValue(root, "spec"), "targets"); t != nil && t.Kind == yaml.SequenceNode && len(t.Content) > 0 {
		target = t.Content[0]
	}
	holder := target
	if code := mapValue(target, "code"); code != nil && code.Kind == yaml.SequenceNode {
		for i, c := range code.Content {
			if e := mapValue(c, "engine"); e != nil && e.Value == "Rego" {
				holder, prefix = mapValue(c, "source"), fmt.Sprintf("%s.code[%d].source", prefix, i)
				break
			}
		}
	}
	if module == "rego" {
		return prefix + ".rego", mapValue(holder, "rego")
	}
	return prefix + "." + module, libNode(mapValue(holder, "libs"), module)
}

// Position is the file and line of the object's document.
func (g *Gatekeeper) Position() (file string, line int) { return g.doc.File, g.doc.Line }
