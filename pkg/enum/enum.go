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
// message that names the input: `: did you mean X? (use one of A, B, C)`
// — X the value v equals ignoring case, or else the one value v is a
// slip of the keyboard from (Nearest: `DOMIAN_NAME`) — or
// ` (use one of A, B, C)`.
func Problem(v string, allowed []string) string {
	use := " (use one of " + strings.Join(allowed, ", ") + ")"
	s := Suggest(v, allowed)
	if near := Nearest(v, allowed); s == "" && len(near) == 1 {
		s = near[0]
	}
	if s != "" {
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

// Nearest is the candidates that v was probably mistyped from, closest
// first: those within a small edit distance of v (letter case ignored),
// at most two edits, and one for a word of four letters or fewer, so
// that a short word does not match everything (`lst` is list, not csr). It suggests command and flag names
// (`reqest` → request, `--verions` → --versions); v itself is never
// among them.
func Nearest(v string, candidates []string) []string {
	lv := strings.ToLower(v)
	limit := 2
	if len(lv) <= 4 {
		limit = 1
	}
	type match struct {
		name string
		dist int
	}
	var found []match
	for _, c := range candidates {
		if c == v {
			continue
		}
		if d := distance(lv, strings.ToLower(c)); d <= limit {
			found = append(found, match{c, d})
		}
	}
	slices.SortStableFunc(found, func(a, b match) int { return a.dist - b.dist })
	out := make([]string, 0, len(found))
	for _, m := range found {
		if !slices.Contains(out, m.name) {
			out = append(out, m.name)
		}
	}
	return out
}

// distance is the edit distance between a and b, in bytes (names of
// commands and flags are ASCII): Levenshtein's, with two adjacent letters
// swapped one edit too (optimal string alignment), the commonest slip of
// a typist (`lsit` is one edit from list, as `lst` is).
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)  // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
