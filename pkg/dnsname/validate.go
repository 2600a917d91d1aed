package dnsname

import (
	"fmt"
	"net/netip"
	"strings"
)

// Length limits, in octets.
const (
	MaxLabelLength      = 63  // RFC 1035
	MaxNameLength       = 253 // RFC 1035, without the root's trailing dot
	MaxCommonNameLength = 64  // RFC 5280 ub-common-name
)

// Validate checks one domain name against every rule and returns an *Error
// naming the first rule it breaks, or nil. Upper-case letters are accepted;
// store the name as Normalize returns it.
func Validate(name string) error {
	if err := validate(name); err != nil {
		return err
	}
	return nil
}

// ValidateSAN checks a subject alternative name: Validate, whose whole-name
// limit is MaxNameLength octets.
func ValidateSAN(name string) error {
	return Validate(name)
}

// ValidateCommonName checks the name used as the certificate's common name:
// Validate, and at most MaxCommonNameLength octets.
func ValidateCommonName(name string) error {
	if err := validate(name); err != nil {
		return err
	}
	if len(name) > MaxCommonNameLength {
		return newErrorf(name, "a common name is at most %d octets, this one is %d", MaxCommonNameLength, len(name))
	}
	return nil
}

// validate returns the *Error of the first rule broken, or nil. Callers turn
// it into an error only when it is non-nil, so that a nil *Error never
// becomes a non-nil error interface.
func validate(name string) *Error {
	if name == "" {
		return newError(name, RuleEmpty)
	}
	if hasNonASCII(name) {
		return newError(name, unicodeRule(name))
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return newError(name, RuleIPAddress)
	}
	if strings.HasSuffix(name, ".") {
		return newError(name, RuleTrailingDot)
	}
	if len(name) > MaxNameLength {
		return newErrorf(name, "a name is at most %d octets, this one is %d", MaxNameLength, len(name))
	}

	labels := strings.Split(Normalize(name), ".")
	for i, label := range labels {
		if rule := checkLabel(label, i); rule != "" {
			return newError(name, rule)
		}
	}
	if labels[0] == "*" {
		labels = labels[1:]
		if len(labels) == 0 {
			return newError(name, RuleWildcardAlone)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return newError(name, RuleNumericTLD)
	}
	if rule := checkIDN(labels); rule != "" {
		return newError(name, rule)
	}
	return checkPublicDomain(name, labels)
}

// checkLabel applies the rules of one lower-case label at position i
// (0 is leftmost) and returns the rule it breaks, or "".
func checkLabel(label string, i int) string {
	if label == "" {
		return RuleEmptyLabel
	}
	if strings.Contains(label, "*") {
		if label == "*" && i == 0 {
			return ""
		}
		return RuleWildcardPosition
	}
	if len(label) > MaxLabelLength {
		return fmt.Sprintf("a label is at most %d octets, %q is %d", MaxLabelLength, label, len(label))
	}
	for j := 0; j < len(label); j++ {
		if c := label[j]; !isLDH(c) {
			return fmt.Sprintf("label %q contains %q; only letters, digits and hyphens are allowed", label, string(c))
		}
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return fmt.Sprintf("label %q begins or ends with a hyphen", label)
	}
	return reservedHyphens(label)
}

func isLDH(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
