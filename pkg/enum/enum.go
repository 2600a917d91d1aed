// Package enum checks values of enumerations (SPEC section 1: statuses, key
// algorithms, revocation reasons, formats, …) given by a user. Values are
// compared exactly, as the AWS CLI and the ACM API compare them (`dns` is
// not DNS); a value that differs from a valid one only in case is refused
// like any other, with a "did you mean" naming the valid one.
//
// It is a foundation package: the command layer (cmdutil.CheckEnum) and the
// domain packages that parse structured arguments (--options, search
// statements, validity shorthand, JSON documents) share it, each wrapping
// its error in the exit code its input calls for.
package enum

import (
	"slices"
	"strconv"
	"strings"
)

// Has reports whether v is exactly one of allowed.
func Has(allowed []string, v string) bool { return slices.Contains(allowed, v) }

// Suggest is the value of allowed that v equals ignoring case ("" when
// none does, or when v is itself one of allowed).
func Suggest(v string, allowed []string) string {
	if Has(allowed, v) {
		return ""
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a
		}
	}
	return ""
}

// Problem describes v, which is not one of allowed, as the rest of a
// message that names the input: `: did you mean X? (use one of A, B, C)`,
// or ` (use one of A, B, C)` when v matches none of them ignoring case.
func Problem(v string, allowed []string) string {
	use := " (use one of " + strings.Join(allowed, ", ") + ")"
	if s := Suggest(v, allowed); s != "" {
		return ": did you mean " + s + "?" + use
	}
	return use
}

// Error is the error for v, a value of what (e.g. "--validation-method"),
// when v is not one of allowed: nil when it is.
func Error(what, v string, allowed []string) error {
	if Has(allowed, v) {
		return nil
	}
	return &InvalidError{What: what, Value: v, Allowed: allowed}
}

// InvalidError is a value that is not one of an enumeration's.
type InvalidError struct {
	What    string // the flag or field, e.g. "--validation-method", "Status"
	Value   string
	Allowed []string
}

func (e *InvalidError) Error() string {
	return "invalid value " + strconv.Quote(e.Value) + " for " + e.What + Problem(e.Value, e.Allowed)
}

// Suggestion is the valid value e.Value was probably meant as, or "".
func (e *InvalidError) Suggestion() string { return Suggest(e.Value, e.Allowed) }
