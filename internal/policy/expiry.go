package policy

import (
	"time"

	"github.com/martech-guardrails/guardrails/api/v1alpha1"
)

// The one expiry rule, for DPAs, security reviews and PolicyExceptions, in
// Go here and in Rego in policies/sensitive_data_dpa.rego: a thing with an
// expiry is valid while now is strictly before it and expired from that
// instant on. An expiry of 2027-03-31T00:00:00Z is valid at
// 2027-03-30T23:59:59Z and expired at 2027-03-31T00:00:00Z. Every door
// (webhook, reconcilers, CLI, data-flow map, audit) uses these functions
// or the engine's verdict, never a comparison of its own.

// Expired reports whether expires has passed at now, compared in whole
// seconds as the API stores times and as input.now gives them. A zero
// expiry never expires. An expiry outside the supported range
// (timebounds.go) cannot be judged, by the policies either, and counts as
// expired: it keeps nothing in force.
func Expired(expires, now time.Time) bool {
	if expires.IsZero() {
		return false
	}
	return !InRange(expires) || !now.Truncate(time.Second).Before(expires)
}

// ExceptionActive reports whether a PolicyException is in force at now.
func ExceptionActive(pex *v1alpha1.PolicyException, now time.Time) bool {
	return !Expired(pex.Spec.ExpiresAt.Time, now)
}

// VendorDates is what a Vendor's dates say at one instant.
type VendorDates struct {
	// DPASigned: a DPA is signed (spec.dpa.signed).
	DPASigned bool
	// DPAExpires is the DPA's expiry; zero when it has none.
	DPAExpires time.Time
	// DPAExpired: signed, with an expiry that has passed (or is outside
	// the supported range).
	DPAExpired bool
	// ReviewExpires is the security review's expiry; zero when none.
	ReviewExpires time.Time
	// ReviewExpired: a security review whose expiry has passed.
	ReviewExpired bool
	// DPAOutOfRange, ReviewOutOfRange: the expiry is outside the
	// supported range (timebounds.go); it cannot be judged and counts as
	// expired.
	DPAOutOfRange, ReviewOutOfRange bool
}

// DPAValid reports a signed DPA that has not expired.
func (d VendorDates) DPAValid() bool { return d.DPASigned && !d.DPAExpired }

// Dates reads a Vendor's DPA and security review at now.
func Dates(v *v1alpha1.Vendor, now time.Time) VendorDates {
	var d VendorDates
	if dpa := v.Spec.DPA; dpa != nil {
		d.DPASigned = dpa.Signed
		if dpa.Expires != nil {
			d.DPAExpires = dpa.Expires.Time
			d.DPAOutOfRange = !InRange(d.DPAExpires)
			d.DPAExpired = d.DPASigned && Expired(d.DPAExpires, now)
		}
	}
	if sr := v.Spec.SecurityReview; sr != nil && sr.Expires != nil {
		d.ReviewExpires = sr.Expires.Time
		d.ReviewOutOfRange = !InRange(d.ReviewExpires)
		d.ReviewExpired = Expired(d.ReviewExpires, now)
	}
	return d
}
