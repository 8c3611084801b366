package policy

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// PolicyUnmanagedWorkload is the built-in that finds shadow IT: a
// Deployment, Service or Ingress in a namespace a PlatformStandard's
// managedNamespaceSelector selects, that no MarketingWorkload owns. It is
// written in Go (it reads owner references and a label selector, as the
// API server means them) and is a built-in like the Rego ones: listed by
// Policies, warn by default, and a standard may disable it or change its
// enforcement. The admission guard asks it about new objects, the audit
// about those that exist.
const PolicyUnmanagedWorkload = "unmanaged-workload"

// The kinds unmanaged-workload judges, with their API versions.
const (
	KindDeployment = "Deployment"
	KindService    = "Service"
	KindIngress    = "Ingress"
)

// UnmanagedKinds are the kinds unmanaged-workload judges, by kind, with
// their apiVersion.
var UnmanagedKinds = map[string]string{
	KindDeployment: "apps/v1",
	KindService:    "v1",
	KindIngress:    "networking.k8s.io/v1",
}

func unmanagedKind(kind string) bool { _, ok := UnmanagedKinds[kind]; return ok }

// Messages of unmanaged-workload.
const (
	msgUnmanaged       = "%s %q is not owned by a MarketingWorkload, and namespace %q is managed by PlatformStandard %q"
	msgUnmanagedOrphan = "%s %q names MarketingWorkload %q as its controller, but no such MarketingWorkload exists in namespace %q"
	remUnmanaged       = "Declare a MarketingWorkload instead: the operator creates and owns its Deployment, Service and Ingress."
)

var unmanagedInfo = Info{
	Name:        PolicyUnmanagedWorkload,
	Title:       "Workloads in managed namespaces are declared as MarketingWorkloads",
	Description: "A Deployment, Service or Ingress in a namespace that a PlatformStandard's managedNamespaceSelector selects must be controlled by a MarketingWorkload (shadow IT otherwise). The admission guard denies new ones; the background audit reports those that exist. Warn by default; a standard may disable it or change its enforcement.",
	Enforcement: string(v1alpha1.EnforcementWarn),
	Severity:    string(v1alpha1.SeverityMedium),
	Category:    "shadow-it",
	Targets:     []string{KindDeployment, KindIngress, KindService},
	Builtin:     true,
}

// UnmanagedObject is what unmanaged-workload reads of a Deployment,
// Service or Ingress (kind, apiVersion and metadata), as a request's Object.
// Doors pass this rather than the whole object: the policy reads nothing
// else, and the audit saves converting every pod template.
func UnmanagedObject(kind string, m metav1.Object) map[string]any {
	refs := make([]any, 0, len(m.GetOwnerReferences()))
	for _, r := range m.GetOwnerReferences() {
		ref := map[string]any{"apiVersion": r.APIVersion, "kind": r.Kind, "name": r.Name, "uid": string(r.UID)}
		if r.Controller != nil {
			ref["controller"] = *r.Controller
		}
		refs = append(refs, ref)
	}
	meta := map[string]any{"name": m.GetName(), "namespace": m.GetNamespace(), "ownerReferences": refs}
	if g := m.GetGenerateName(); g != "" {
		meta["generateName"] = g
	}
	if uid := m.GetUID(); uid != "" {
		meta["uid"] = string(uid)
	}
	return map[string]any{"apiVersion": UnmanagedKinds[kind], "kind": kind, "metadata": meta}
}

// evaluateUnmanaged is Evaluate for a Deployment, Service or Ingress: only
// unmanaged-workload judges them.
func (e *Engine) evaluateUnmanaged(req *Request, subject *input.Object, start time.Time) *Decision {
	namespace := cmp.Or(req.Namespace.Name, subject.Namespace)
	d := &Decision{Kind: subject.Kind, Namespace: namespace, Name: subject.Name}
	setting := SettingFor(req.Standard, unmanagedInfo)
	if setting.Disabled {
		d.Disabled = []string{PolicyUnmanagedWorkload}
		return d
	}
	if !Managed(req.Standard, req.Namespace.Labels) {
		return d // the policy does not apply here
	}
	d.Policies = []string{PolicyUnmanagedWorkload}
	if msg, ok := unmanaged(req, subject, namespace); ok {
		d.Results = []Result{{
			Policy:      unmanagedInfo.Name,
			Title:       unmanagedInfo.Title,
			Enforcement: setting.Enforcement,
			Severity:    unmanagedInfo.Severity,
			Category:    unmanagedInfo.Category,
			Message:     msg,
			Field:       "metadata.ownerReferences",
			Remediation: remUnmanaged,
		}}
	}
	e.metrics.observe(subject.Kind, req.Operation, time.Since(start), []outcome{{policy: PolicyUnmanagedWorkload}}, d.Results)
	return d
}

// Managed reports whether std, the standard in force for a namespace with
// nsLabels, manages it: its managedNamespaceSelector selects the namespace.
// An invalid selector selects nothing (the standard's status says so).
func Managed(std *v1alpha1.PlatformStandard, nsLabels map[string]string) bool {
	if std == nil || std.Spec.ManagedNamespaceSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(std.Spec.ManagedNamespaceSelector)
	return err == nil && sel.Matches(labels.Set(nsLabels))
}

// unmanaged says whether subject, in a managed namespace, is shadow IT,
// and why.
func unmanaged(req *Request, subject *input.Object, namespace string) (string, bool) {
	std := req.Standard
	var meta map[string]any
	if v, ok := lookup(subject.Value, []string{"metadata"}); ok {
		if j, err := ast.JSON(v); err == nil {
			meta, _ = j.(map[string]any)
		}
	}
	name := subject.Name
	if name == "" {
		g, _ := meta["generateName"].(string)
		name = g + "*"
	}
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		if c, _ := ref["controller"].(bool); !c {
			continue
		}
		apiVersion, _ := ref["apiVersion"].(string)
		kind, _ := ref["kind"].(string)
		group, _, _ := strings.Cut(apiVersion, "/")
		if kind != v1alpha1.KindMarketingWorkload || group != v1alpha1.GroupVersion.Group {
			break
		}
		owner, _ := ref["name"].(string)
		uid, _ := ref["uid"].(string)
		if o := req.Owner; o != nil && o.Name == owner && o.Namespace == namespace && string(o.UID) == uid {
			return "", false
		}
		return fmt.Sprintf(msgUnmanagedOrphan, subject.Kind, name, owner, namespace), true
	}
	return fmt.Sprintf(msgUnmanaged, subject.Kind, name, namespace, std.Name), true
}
