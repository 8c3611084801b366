package policy

import (
	"fmt"
	"time"
)

// The times the engine judges. Rego counts time in int64 nanoseconds, which
// end at 1677-09-21T00:12:43Z and 2262-04-11T23:47:16Z; outside them
// time.parse_rfc3339_ns fails and a rule comparing times would go
// undefined, that is pass. So every date a policy compares must lie in
// [MinTime, MaxTime), whole years well inside Rego's range, and each door
// refuses or reports one outside it with the field named:
//
//   - the API: a CEL rule on every date field of api/v1alpha1 (the same
//     bounds; the CLI applies the CRDs' CEL rules to the files it reads);
//   - the engine: Evaluate refuses a Request.Now outside the range, the
//     built-in policies report a date they cannot judge as a violation
//     ("outside the supported range"), and the Go expiry rule (expiry.go)
//     counts such a date as not valid: an exception waives nothing, a DPA
//     or a security review is not in force.
//
// The Rego modules that compare dates hold the same bounds (min_ns, max_ns
// and supported_range; TestRegoAgreesOnTimeRange checks them).
var (
	// MinTime is the first instant judged.
	MinTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	// MaxTime is the first instant after the range: the last judged is
	// one second before (times are compared in whole seconds).
	MaxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TimeRange is the supported range in words, as errors and policies say it.
const TimeRange = "1678-01-01T00:00:00Z..2261-12-31T23:59:59Z"

// InRange reports whether t lies in [MinTime, MaxTime).
func InRange(t time.Time) bool { return !t.Before(MinTime) && t.Before(MaxTime) }

// TimeRangeError is a time outside the supported range.
type TimeRangeError struct {
	Field string // the field or flag holding it, e.g. spec.expiresAt
	Time  time.Time
}

func (e *TimeRangeError) Error() string {
	return fmt.Sprintf("%s: %s is outside the supported range %s", e.Field, e.Time.UTC().Format(time.RFC3339), TimeRange)
}

// CheckTime returns a *TimeRangeError naming field when t is set and
// outside the supported range; a zero time (unset) is left to the field's
// own rules.
func CheckTime(field string, t time.Time) error {
	if t.IsZero() || InRange(t) {
		return nil
	}
	return &TimeRangeError{Field: field, Time: t}
}
