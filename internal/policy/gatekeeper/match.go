package gatekeeper

import (
	"path"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// match is a constraint's spec.match.
type match struct {
	Kinds              []kinds               `json:"kinds"`
	Scope              string                `json:"scope"`
	Namespaces         []string              `json:"namespaces"`
	ExcludedNamespaces []string              `json:"excludedNamespaces"`
	LabelSelector      *metav1.LabelSelector `json:"labelSelector"`
	NamespaceSelector  *metav1.LabelSelector `json:"namespaceSelector"`
	Name               string                `json:"name"`

	labels, namespaceLabels labels.Selector
}

// kinds is one entry of a constraint's spec.match.kinds.
type kinds struct {
	APIGroups []string `json:"apiGroups"`
	Kinds     []string `json:"kinds"`
}

// Matches reports whether the constraint's spec.match selects s.
func (c *Constraint) Matches(s *Subject) bool { return c.match.matches(s) }

// matches reports whether the constraint's match selects o, as Gatekeeper
// matches: kinds, scope, namespaces, excludedNamespaces (with * prefix and
// suffix globs), name, labelSelector and namespaceSelector.
func (m *match) matches(o *Subject) bool {
	if len(m.Kinds) > 0 && !slices.ContainsFunc(m.Kinds, func(k kinds) bool {
		return anyOf(k.APIGroups, o.Group) && anyOf(k.Kinds, o.Kind)
	}) {
		return false
	}
	switch m.Scope {
	case "Cluster":
		if o.Namespaced {
			return false
		}
	case "Namespaced":
		if !o.Namespaced {
			return false
		}
	}
	if o.Namespaced {
		if len(m.Namespaces) > 0 && !slices.ContainsFunc(m.Namespaces, func(p string) bool { return glob(p, o.Namespace) }) {
			return false
		}
		if slices.ContainsFunc(m.ExcludedNamespaces, func(p string) bool { return glob(p, o.Namespace) }) {
			return false
		}
		if m.namespaceLabels != nil && !m.namespaceLabels.Matches(o.NamespaceLabels) {
			return false
		}
	}
	if m.Name != "" && !glob(m.Name, o.Name) {
		return false
	}
	return m.labels == nil || m.labels.Matches(o.Labels)
}

// anyOf: an empty list or "*" matches everything.
func anyOf(list []string, s string) bool {
	return len(list) == 0 || slices.Contains(list, "*") || slices.Contains(list, s)
}

// glob matches Gatekeeper's wildcards: a leading or trailing *.
func glob(pattern, s string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(s, strings.TrimSuffix(pattern, "*"))
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(s, strings.TrimPrefix(pattern, "*"))
	}
	ok, _ := path.Match(pattern, s)
	return ok || pattern == s
}
