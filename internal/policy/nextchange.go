package policy

import (
	"slices"
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
	"github.com/martech-guardrails/guardrails/internal/policy/input"
)

// NextChange returns the first instant after now at which the verdict on
// req's object may change with time alone, or zero when none is known: a
// PolicyException waiving it (or one of the integrations a workload uses)
// expires, a Vendor's DPA or security review it depends on expires, or a
// credential it depends on grows older than the standard's
// credentials.maxAge. The audit re-evaluates the object then, instead of
// polling. It reads the same request Evaluate reads, by the same expiry
// rule (Expired); only typed objects of api/v1alpha1 are looked into.
func NextChange(req *Request, now time.Time) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	vendor := func(name string) {
		if v := req.Vendors[name]; v != nil {
			d := Dates(v, now)
			at(d.DPAExpires)
			at(d.ReviewExpires)
		}
	}
	credential := func(si *v1alpha1.SaaSIntegration) {
		if si.Spec.Credentials == nil || req.Standard == nil || req.Standard.Spec.Credentials.MaxAge == nil {
			return
		}
		info, ok := req.Secrets[si.Spec.Credentials.SecretName]
		if !ok {
			return
		}
		if stale, ok := CredentialsStaleAt(info, req.Standard.Spec.Credentials.MaxAge.Duration); ok {
			at(stale)
		}
	}
	waivers := func(kind, namespace, name string) {
		for i := range req.Exceptions {
			ex := &req.Exceptions[i]
			if input.Namespaced(kind) && ex.Namespace != namespace {
				continue
			}
			if slices.ContainsFunc(ex.Spec.Targets, func(t v1alpha1.ExceptionTarget) bool {
				return string(t.Kind) == kind && t.Name == name
			}) {
				at(ex.Spec.ExpiresAt.Time)
			}
		}
	}
	// Any of our kinds: the exceptions that waive its own results.
	if o, ours := req.Object.(v1alpha1.Object); ours {
		k, _ := v1alpha1.KindOf(o)
		waivers(k.Name, o.GetNamespace(), o.GetName())
	}
	// What else a kind's verdict depends on.
	switch o := req.Object.(type) {
	case *v1alpha1.MarketingWorkload:
		for _, si := range req.Integrations {
			waivers(v1alpha1.KindSaaSIntegration, si.Namespace, si.Name)
			vendor(si.Spec.Vendor)
			credential(si)
		}
	case *v1alpha1.SaaSIntegration:
		vendor(o.Spec.Vendor)
		credential(o)
	case *v1alpha1.Vendor:
		vendor(o.Name)
		at(NextVendorChange(o, req.Usage.Integrations(o.Name), Portfolio(req.Standard), now))
	case *v1alpha1.PolicyException:
		at(o.Spec.ExpiresAt.Time) // the exception itself stops being in force
	}
	return next
}

// LastRotation is when the credentials of a Secret were last rotated: its
// rotated-at annotation, else its creation; zero when unknown (a Secret
// read from a file without them, or one that does not exist).
func (s SecretInfo) LastRotation() time.Time {
	if !s.Exists {
		return time.Time{}
	}
	if !s.RotatedAt.IsZero() {
		return s.RotatedAt
	}
	return s.CreatedAt
}

// CredentialsStaleAt returns the first instant at which credential-age
// reports the credentials of a Secret as too old: their age, counted from
// LastRotation in whole seconds, exceeds maxAge. false when the age is
// unknown or maxAge sets no limit (zero or negative).
func CredentialsStaleAt(info SecretInfo, maxAge time.Duration) (time.Time, bool) {
	since := info.LastRotation()
	if since.IsZero() || maxAge <= 0 {
		return time.Time{}, false
	}
	return since.Add(maxAge + time.Second), true
}
