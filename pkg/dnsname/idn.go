package dnsname

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// acePrefix marks an A-label, the ASCII form of an internationalized label.
const acePrefix = "xn--"

// unicodeRule is the rule for a name with non-ASCII bytes. It suggests the
// A-label form when the name converts to one.
func unicodeRule(name string) string {
	if !utf8.ValidString(name) {
		// Bytes that are not UTF-8 name no characters: their
		// "punycode" would be of U+FFFD, a name refused in its turn
		// (tester).
		return "it is not valid UTF-8 text; a domain name is ASCII (internationalized names in their \"xn--\" form)"
	}
	const rule = `Unicode characters are not allowed; use the ASCII "xn--" (punycode) form`
	if ascii, ok := ASCIIForm(name); ok {
		return fmt.Sprintf("%s: %q", rule, ascii)
	}
	return rule
}

// ASCIIForm is the ASCII (punycode) form of name when name holds
// characters outside ASCII and has one (bücher.test: xn--bcher-kva.test);
// none for bytes that are not UTF-8 (their form would be of U+FFFD).
func ASCIIForm(name string) (string, bool) {
	if !hasNonASCII(name) || !utf8.ValidString(name) {
		return "", false
	}
	ascii, err := idna.Lookup.ToASCII(name)
	return ascii, err == nil && ascii != "" && !hasNonASCII(ascii)
}

// CheckIDN checks the internationalized labels of a name that is already
// known to be of letters, digits, hyphens and dots (with an optional "*."
// wildcard label), such as one a CSR asks for: every "xn--" label must be
// valid punycode of a valid IDN, as Validate requires, and the certificate
// linters (zlint's e_international_dns_name_not_unicode) check. It applies
// none of Validate's policy (public suffixes, single labels), which a
// private CA's names need not follow.
func CheckIDN(name string) error {
	labels := strings.Split(Normalize(name), ".")
	if labels[0] == "*" {
		labels = labels[1:]
	}
	if rule := checkIDN(labels); rule != "" {
		return newError(name, rule)
	}
	return nil
}

// checkIDN checks every A-label of the lower-case labels of a name (without
// its wildcard label) and returns the rule broken, or "". An A-label must be
// valid punycode that decodes to a valid IDNA2008 U-label and encodes back
// to itself; across the name, the Bidi rule of RFC 5893 must hold.
func checkIDN(labels []string) string {
	found := false
	for _, label := range labels {
		if !strings.HasPrefix(label, acePrefix) {
			continue
		}
		found = true
		if !validALabel(label) {
			return fmt.Sprintf(`label %q is not a valid internationalized label: an "xn--" label must be punycode that decodes to a valid IDN`, label)
		}
	}
	if !found {
		return ""
	}
	// Per-label checks passed; this catches what only shows across labels.
	if _, err := idna.Registration.ToUnicode(strings.Join(labels, ".")); err != nil {
		return "the labels of the name together are not a valid IDN (IDNA bidirectional rule, RFC 5893)"
	}
	return ""
}

// validALabel reports whether a lower-case label beginning with "xn--" is a
// valid A-label.
func validALabel(label string) bool {
	u, err := idna.Registration.ToUnicode(label)
	if err != nil || u == "" || !hasNonASCII(u) {
		return false
	}
	back, err := idna.Registration.ToASCII(u)
	if err != nil || back != label {
		return false
	}
	return idna2008Label(u)
}

// idna2008Label applies what golang.org/x/net/idna leaves out of RFC 5892:
// it implements UTS #46, which accepts symbols (U+2665 BLACK HEART SUIT,
// emoji) that IDNA2008 disallows. A code point is accepted when it is
// PVALID by the LetterDigits category rule or the exceptions of RFC 5892
// section 2.6, or is a CONTEXTO code point whose rule (Appendix A) holds.
func idna2008Label(u string) bool {
	runes := []rune(u)
	for i, r := range runes {
		switch status := exceptionStatus(r); status {
		case pvalid:
			continue
		case disallowed:
			return false
		case contexto:
			if !contextORule(runes, i) {
				return false
			}
			continue
		}
		if r == '-' {
			continue
		}
		if inDisallowedBlock(r) || !unicode.In(r, letterDigits...) {
			return false
		}
	}
	return true
}

// letterDigits is RFC 5892's LetterDigits category set.
var letterDigits = []*unicode.RangeTable{
	unicode.Ll, unicode.Lu, unicode.Lo, unicode.Nd, unicode.Lm, unicode.Mn, unicode.Mc,
}

type exception int

const (
	none exception = iota
	pvalid
	disallowed
	contexto
)

// exceptionStatus returns the RFC 5892 section 2.6 status of r, or none.
func exceptionStatus(r rune) exception {
	switch {
	case r == 0x00DF, r == 0x03C2, r == 0x06FD, r == 0x06FE, r == 0x0F0B, r == 0x3007:
		return pvalid
	case r == 0x0640, r == 0x07FA, r == 0x302E, r == 0x302F, 0x3031 <= r && r <= 0x3035, r == 0x303B:
		return disallowed
	case r == 0x00B7, r == 0x0375, r == 0x05F3, r == 0x05F4, r == 0x30FB,
		0x0660 <= r && r <= 0x0669, 0x06F0 <= r && r <= 0x06F9:
		return contexto
	}
	return none
}

// inDisallowedBlock reports the IgnorableBlocks and OldHangulJamo of RFC 5892
// (sections 2.4 and 2.9).
func inDisallowedBlock(r rune) bool {
	switch {
	case 0x20D0 <= r && r <= 0x20FF, // Combining Diacritical Marks for Symbols
		0x1D100 <= r && r <= 0x1D1FF, // Musical Symbols
		0x1D200 <= r && r <= 0x1D24F, // Ancient Greek Musical Notation
		0x1100 <= r && r <= 0x11FF,   // Hangul Jamo
		0xA960 <= r && r <= 0xA97F,   // Hangul Jamo Extended-A
		0xD7B0 <= r && r <= 0xD7FF:   // Hangul Jamo Extended-B
		return true
	}
	return false
}

// contextORule applies the RFC 5892 Appendix A rule of the CONTEXTO code
// point runes[i].
func contextORule(runes []rune, i int) bool {
	r := runes[i]
	before := func() rune {
		if i > 0 {
			return runes[i-1]
		}
		return -1
	}
	after := func() rune {
		if i+1 < len(runes) {
			return runes[i+1]
		}
		return -1
	}
	switch {
	case r == 0x00B7: // MIDDLE DOT, only in Catalan "l·l"
		return before() == 'l' && after() == 'l'
	case r == 0x0375: // GREEK LOWER NUMERAL SIGN
		return after() >= 0 && unicode.Is(unicode.Greek, after())
	case r == 0x05F3, r == 0x05F4: // HEBREW PUNCTUATION GERESH, GERSHAYIM
		return before() >= 0 && unicode.Is(unicode.Hebrew, before())
	case r == 0x30FB: // KATAKANA MIDDLE DOT
		for _, o := range runes {
			if unicode.In(o, unicode.Hiragana, unicode.Katakana, unicode.Han) && o != 0x30FB {
				return true
			}
		}
		return false
	case 0x0660 <= r && r <= 0x0669: // ARABIC-INDIC DIGITS
		return !containsRange(runes, 0x06F0, 0x06F9)
	case 0x06F0 <= r && r <= 0x06F9: // EXTENDED ARABIC-INDIC DIGITS
		return !containsRange(runes, 0x0660, 0x0669)
	}
	return false
}

func containsRange(runes []rune, lo, hi rune) bool {
	for _, r := range runes {
		if lo <= r && r <= hi {
			return true
		}
	}
	return false
}

// ASCIIPattern is the pattern p — a shell pattern of names, as list
// --domain and search's san: take — with each label that holds characters
// outside ASCII in its ASCII ("xn--") form, the form certificates hold
// names in (bücher.example: xn--bcher-kva.example): such a pattern matched
// nothing (tester). A label that mixes such characters with a pattern's
// (bü*) has no such form. ok is false when p holds nothing outside ASCII,
// is not UTF-8, or has such a label.
func ASCIIPattern(p string) (string, bool) {
	if !hasNonASCII(p) || !utf8.ValidString(p) {
		return "", false
	}
	labels := strings.Split(p, ".")
	for i, l := range labels {
		if !hasNonASCII(l) {
			continue
		}
		if strings.ContainsAny(l, "*?[]\\") {
			return "", false
		}
		a, ok := ASCIIForm(l)
		if !ok {
			return "", false
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), true
}

// CheckReservedHyphens refuses a name (letters, digits, hyphens and dots,
// an optional "*." wildcard label) with a label that has hyphens in its
// 3rd and 4th positions and is no "xn--" one: such labels are reserved
// for IDNA (RFC 5890 2.3.1), as Validate refuses them. For the DNS names
// a certificate carries (tester: ca issue signed ab--cd.corp.internal,
// which request refuses), not a client certificate's CN that merely reads
// as one.
func CheckReservedHyphens(name string) error {
	for _, label := range strings.Split(Normalize(name), ".") {
		if rule := reservedHyphens(label); rule != "" {
			return newError(name, rule)
		}
	}
	return nil
}

// reservedHyphens is the rule a lower-case label with hyphens in its 3rd
// and 4th positions that is no "xn--" label breaks, or "".
func reservedHyphens(label string) string {
	if len(label) >= 4 && label[2:4] == "--" && !strings.HasPrefix(label, acePrefix) {
		return fmt.Sprintf(`label %q has hyphens in the 3rd and 4th positions but does not begin with "xn--"`, label)
	}
	return ""
}
