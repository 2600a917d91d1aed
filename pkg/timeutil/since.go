package timeutil

import (
	"fmt"
	"strings"
	"time"
)

// ParseSince reads a --since value: an RFC 3339 time, a date (its
// midnight UTC, as the AWS CLI and search's NotAfter read one; tester: a
// date was refused), or a duration (24h, 7d) back from now.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := ParseTimeOrDate(s); err == nil {
		return t, nil
	}
	if d, err := ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time, a date nor a duration", s)
}

// ParseTimeOrDate parses an RFC 3339 time, or a date (2027-01-05), which
// means its midnight UTC.
func ParseTimeOrDate(s string) (time.Time, error) {
	t, err := ParseRFC3339(s)
	if err == nil {
		return t, nil
	}
	if d, derr := time.Parse(time.DateOnly, s); derr == nil {
		return d, nil
	}
	return t, err
}

// ParseRFC3339 parses an RFC 3339 time as a user gives it, with the
// offset RFC 3339 allows (hours 00-23, minutes 00-59, section 5.6): Go's
// parser takes +24:00 and reads it as a day's shift (tester). A lower-case
// t or z is taken, as RFC 3339 allows (section 5.6, NOTE).
func ParseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.ToUpper(s))
	if err != nil {
		return t, err
	}
	if n := len(s); n >= 6 && (s[n-6] == '+' || s[n-6] == '-') {
		if s[n-5:n-3] > "23" || s[n-2:] > "59" {
			return time.Time{}, fmt.Errorf("parsing time %q: offset %s out of range (-23:59 to +23:59)", s, s[n-6:])
		}
	}
	return t, nil
}
