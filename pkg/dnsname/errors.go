package dnsname

import "fmt"

// CodeInvalidPublicDomain is the Code of an Error for a name that is itself a
// public suffix or a single label. It is ACM's FailureReason of the same name.
const CodeInvalidPublicDomain = "INVALID_PUBLIC_DOMAIN"

// Rules with a fixed text. Other rules (lengths, labels, characters, quota)
// carry the offending value in their text.
const (
	RuleEmpty            = "name is empty"
	RuleTrailingDot      = "trailing dot is not allowed"
	RuleEmptyLabel       = "empty label (leading or consecutive dots)"
	RuleIPAddress        = "IP addresses are not allowed"
	RuleWildcardPosition = `wildcard is allowed only as the whole leftmost label (as in "*.example.com")`
	RuleWildcardAlone    = `a wildcard needs a domain name after it (as in "*.example.com")`
	RuleNumericTLD       = "the last label must not be all digits"
	RuleSingleLabel      = "single-label names are not allowed; use a fully qualified domain name"
	RulePublicSuffix     = "the name is a public suffix; only names under it can be certified"
	RuleNoNames          = "at least one domain name is required"
)

// Error reports a name that breaks one of the rules. Rule says which one, in
// words meant for the user; Code is CodeInvalidPublicDomain for a public
// suffix or single-label name and empty otherwise.
type Error struct {
	Name string
	Rule string
	Code string
}

// Error implements error. The name is quoted, so control characters in it
// are escaped.
//
// A rule of the list as a whole (no names, too many) names no name: the
// one it would name is not at fault.
func (e *Error) Error() string {
	if e.Name == "" {
		return e.Rule
	}
	return fmt.Sprintf("invalid domain name %q: %s", e.Name, e.Rule)
}

func newError(name, rule string) *Error {
	return &Error{Name: name, Rule: rule}
}

func newErrorf(name, format string, args ...any) *Error {
	return &Error{Name: name, Rule: fmt.Sprintf(format, args...)}
}
