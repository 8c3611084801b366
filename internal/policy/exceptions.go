package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// unwaivablePolicy is the built-in that bounds exceptions themselves.
const unwaivablePolicy = "exception-cap"

// waivers are the PolicyExceptions in force at one instant.
type waivers []*v1alpha1.PolicyException

// activeWaivers keeps the exceptions in force at now (ExceptionActive).
func activeWaivers(list []v1alpha1.PolicyException, now time.Time) waivers {
	var out waivers
	for i := range list {
		if ExceptionActive(&list[i], now) {
			out = append(out, &list[i])
		}
	}
	return out
}

// find returns the exception waiving policy for the object, or nil. An
// exception matches when its policies name the policy and one of its targets
// names the object's kind and name; for namespaced kinds it must also be in
// the object's namespace. When several match, the one expiring last wins.
//
// The exception-cap policy is never waived: otherwise an exception could name
// itself and extend its own expiry past the cap.
func (w waivers) find(policy, kind, namespace, name string) *ExceptionRef {
	if policy == unwaivablePolicy {
		return nil
	}
	var best *v1alpha1.PolicyException
	for _, ex := range w {
		if !slices.Contains(ex.Spec.Policies, policy) {
			continue
		}
		if input.Namespaced(kind) && ex.Namespace != namespace {
			continue
		}
		if !slices.ContainsFunc(ex.Spec.Targets, func(t v1alpha1.ExceptionTarget) bool {
			return string(t.Kind) == kind && t.Name == name
		}) {
			continue
		}
		if best == nil || later(ex, best) {
			best = ex
		}
	}
	if best == nil {
		return nil
	}
	return &ExceptionRef{Namespace: best.Namespace, Name: best.Name, ExpiresAt: best.Spec.ExpiresAt.Time}
}

// later orders exceptions by expiry, then by namespace/name, for a stable
// choice.
func later(a, b *v1alpha1.PolicyException) bool {
	if !a.Spec.ExpiresAt.Equal(&b.Spec.ExpiresAt) {
		return a.Spec.ExpiresAt.After(b.Spec.ExpiresAt.Time)
	}
	return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name) < 0
}
