package dnsname

import (
	"errors"
	"strings"
	"testing"
)

// nameOfLength returns a valid name of exactly n octets ending in
// ".example.com", made of labels of at most 63 octets.
func nameOfLength(t *testing.T, n int) string {
	t.Helper()
	const suffix = ".example.com"
	rest := n - len(suffix)
	var labels []string
	for rest > 0 {
		l := min(rest, 63)
		if rest-l == 1 { // a lone dot left over: shorten this label
			l--
		}
		labels = append(labels, strings.Repeat("a", l))
		rest -= l + 1 // the label and its dot
	}
	name := strings.Join(labels, ".") + suffix
	if len(name) != n {
		t.Fatalf("nameOfLength(%d) built %d octets", n, len(name))
	}
	return name
}

func TestValidate(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	label64 := strings.Repeat("a", 64)
	tests := []struct {
		name string
		ok   bool
		rule string // substring of the rule, when !ok
		code string
	}{
		// ACM's punycode table.
		{"example.com", true, "", ""},
		{"a--example.com", true, "", ""},
		{"abc--example.com", true, "", ""},
		{"xn--xyz.com", true, "", ""}, // 简.com
		{"xn--example.com", false, "not a valid internationalized label", ""},
		{"ab--example.com", false, "3rd and 4th positions", ""},
		// More punycode.
		{"ab--cd.example.com", false, `does not begin with "xn--"`, ""},
		{"a--b.example.com", true, "", ""},
		{"abc--d.example.com", true, "", ""},
		{"xn--bcher-kva.example", true, "", ""},                                       // bücher
		{"XN--BCHER-KVA.EXAMPLE.COM", true, "", ""},                                   // upper-case A-label
		{"xn--Bcker-gra.example.com", true, "", ""},                                   // bäcker once folded
		{"xn--zca.example.com", true, "", ""},                                         // ß is PVALID
		{"xn--collegi-xma.example.com", true, "", ""},                                 // col·legi: MIDDLE DOT between l's
		{"xn--ab-0ea.example.com", false, "not a valid internationalized label", ""},  // a·b
		{"xn--fdk0brc8i.example.com", true, "", ""},                                   // ヤマト・ヤ
		{"xn--ab-3n4a.example.com", false, "not a valid internationalized label", ""}, // a・b
		{"xn--g6h.example.com", false, "not a valid internationalized label", ""},     // ♥, not IDNA2008
		{"xn--ls8h.example.com", false, "not a valid internationalized label", ""},    // emoji
		{"xn--a.example.com", false, "not a valid internationalized label", ""},
		{"xn--55555577.example.com", false, "not a valid internationalized label", ""},
		{"xn--1ug.example.com", false, "not a valid internationalized label", ""}, // lone ZERO WIDTH JOINER
		{"xn--abc-a.example.com", false, "not a valid internationalized label", ""},
		{"xn--.example.com", false, "hyphen", ""},
		{"xn--4dbrk0ce.example.com", true, "", ""},    // ישראל
		{"xn--mgbh0fb.xn--mgbh0fb.com", true, "", ""}, // مثال.مثال.com
		{"0a.xn--4dbrk0ce.example.com", false, "bidirectional", ""},
		{"xn--i1b6cwbk3g.example.com", true, "", ""}, // पंजाब
		// Unicode U-labels.
		{"bücher.example", false, `use the ASCII "xn--" (punycode) form: "xn--bcher-kva.example"`, ""},
		{"пример.test", false, "Unicode characters are not allowed", ""},
		{"\u212aelvin.example.com", false, "Unicode characters are not allowed", ""}, // KELVIN SIGN
		// Bytes that are not UTF-8: said so, with no "xn--" form of
		// the replacement characters they would read as (tester).
		{"example.com\x80", false, "not valid UTF-8", ""},
		{"a\xff\xfe.example.com", false, "not valid UTF-8", ""},
		// Characters and hyphens.
		{"exa_mple.com", false, `contains "_"`, ""},
		{"exa mple.com", false, `contains " "`, ""},
		{"a\x1b[31m.example.com", false, `contains "\x1b"`, ""},
		{"-example.com", false, "begins or ends with a hyphen", ""},
		{"example-.com", false, "begins or ends with a hyphen", ""},
		{"ex-ample.com", true, "", ""},
		{"123.example.com", true, "", ""},
		// Empty, dots.
		{"", false, RuleEmpty, ""},
		{"example.com.", false, RuleTrailingDot, ""},
		{".", false, RuleTrailingDot, ""},
		{".example.com", false, RuleEmptyLabel, ""},
		{"www..example.com", false, RuleEmptyLabel, ""},
		// Lengths.
		{label63 + ".example.com", true, "", ""},
		{label64 + ".example.com", false, "at most 63 octets", ""},
		{nameOfLength(t, 253), true, "", ""},
		{nameOfLength(t, 254), false, "at most 253 octets, this one is 254", ""},
		// Wildcards.
		{"*.example.com", true, "", ""},
		{"*.www.example.com", true, "", ""},
		{"a*.example.com", false, RuleWildcardPosition, ""},
		{"*a.example.com", false, RuleWildcardPosition, ""},
		{"foo.*.example.com", false, RuleWildcardPosition, ""},
		{"*.*.example.com", false, RuleWildcardPosition, ""},
		{"**.example.com", false, RuleWildcardPosition, ""},
		{"*", false, RuleWildcardAlone, ""},
		{"*.com", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"*.co.uk", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"*.example.co.uk", true, "", ""},
		// IP addresses and numeric names.
		{"192.0.2.1", false, RuleIPAddress, ""},
		{"::1", false, RuleIPAddress, ""},
		{"2001:db8::1", false, RuleIPAddress, ""},
		{"fe80::1%eth0", false, RuleIPAddress, ""},
		{"192.0.2.256", false, RuleNumericTLD, ""},
		{"10.1", false, RuleNumericTLD, ""},
		{"*.192.0.2.1", false, RuleNumericTLD, ""},
		// Public suffixes and single labels.
		{"com", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"uk", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"co.uk", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"example.co.uk", true, "", ""},
		{"foo.ck", false, RulePublicSuffix, CodeInvalidPublicDomain}, // "*.ck" rule
		{"in-addr.arpa", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"localhost", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"intranet", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"github.io", true, "", ""}, // private section of the list
		{"app.corp", true, "", ""},  // not a known suffix, not a single label
		// Reserved and internal suffixes.
		{"www.example", true, "", ""},
		{"app.internal", true, "", ""},
		{"db.test", true, "", ""},
		{"*.svc.local", true, "", ""},
		{"nas.lan", true, "", ""},
		{"app.localhost", true, "", ""},
		{"x.invalid", true, "", ""},
		{"router.home.arpa", true, "", ""},
		{"*.test", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"*.local", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"*.localhost", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"test", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"local", false, RuleSingleLabel, CodeInvalidPublicDomain},
		{"home.arpa", false, RulePublicSuffix, CodeInvalidPublicDomain},
		// Case.
		{"WWW.Example.COM", true, "", ""},
		{"COM", false, RulePublicSuffix, CodeInvalidPublicDomain},
		{"CO.UK", false, RulePublicSuffix, CodeInvalidPublicDomain},
	}
	for _, tt := range tests {
		err := Validate(tt.name)
		if tt.ok {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Validate(%q) = %v, want *Error", tt.name, err)
			continue
		}
		if e.Name != tt.name {
			t.Errorf("Validate(%q).Name = %q", tt.name, e.Name)
		}
		if !strings.Contains(e.Rule, tt.rule) {
			t.Errorf("Validate(%q).Rule = %q, want it to contain %q", tt.name, e.Rule, tt.rule)
		}
		if e.Code != tt.code {
			t.Errorf("Validate(%q).Code = %q, want %q", tt.name, e.Code, tt.code)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	err := Validate("example.com.")
	want := `invalid domain name "example.com.": trailing dot is not allowed`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate error = %v, want %q", err, want)
	}
	// Control characters from the input are escaped.
	err = Validate("a\x1b]0;x\x07.example.com")
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\x07") {
		t.Fatalf("error message carries raw control characters: %q", err)
	}
}

func TestValidateCommonName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{nameOfLength(t, 64), true},
		{nameOfLength(t, 65), false},
		{"*." + nameOfLength(t, 62), true},
		{"*." + nameOfLength(t, 63), false},
		{"com", false},
	} {
		err := ValidateCommonName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateCommonName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil {
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ValidateCommonName(%q) = %T, want *Error", tt.name, err)
		}
		if len(tt.name) > MaxCommonNameLength && !strings.Contains(e.Rule, "common name is at most 64 octets") {
			t.Errorf("ValidateCommonName(%q).Rule = %q", tt.name, e.Rule)
		}
	}
	// A SAN may be longer than a common name.
	if err := ValidateSAN(nameOfLength(t, 200)); err != nil {
		t.Errorf("ValidateSAN(200 octets) = %v", err)
	}
	if err := ValidateSAN(nameOfLength(t, 254)); err == nil {
		t.Error("ValidateSAN(254 octets) = nil")
	}
}

func TestIsPublicSuffix(t *testing.T) {
	for name, want := range map[string]bool{
		"com":           true,
		"COM":           true,
		"co.uk":         true,
		"test":          true,
		"home.arpa":     true,
		"example.com":   false,
		"github.io":     false,
		"db.test":       false,
		"*.co.uk":       false,
		"notarealtld":   false,
		"":              false,
		"www.ck":        false, // "!www.ck" exception
		"anything.ck":   true,
		"uk":            true,
		"example.co.uk": false,
	} {
		if got := IsPublicSuffix(name); got != want {
			t.Errorf("IsPublicSuffix(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIDNA2008Label(t *testing.T) {
	for u, want := range map[string]bool{
		"bücher":   true,
		"中国":       true,
		"ελληνικά": true,
		"пример":   true,
		"ไทย":      true,
		"col·legi": true,
		"a·b":      false,
		"·l":       false,
		"͵α":       true,  // GREEK LOWER NUMERAL SIGN before a Greek letter
		"͵a":       false, // ... before a Latin one
		"א׳":       true,  // GERESH after a Hebrew letter
		"a׳":       false,
		"ヤ・ヤ":      true,
		"a・b":      false,
		"ب٣٤":      true,
		"ب٣۴":      false, // Arabic-Indic mixed with extended digits
		"aـb":      false, // ARABIC TATWEEL, disallowed by exception
		"〇":        true,  // IDEOGRAPHIC NUMBER ZERO, PVALID by exception
		"a♥":       false,
		"a\u20d0":  false, // combining mark for symbols
		"ᄀ":        false, // old Hangul jamo
	} {
		if got := idna2008Label(u); got != want {
			t.Errorf("idna2008Label(%q) = %v, want %v", u, got, want)
		}
	}
}

// TestCheckIDN: CheckIDN judges the "xn--" labels only — none of
// Validate's policy (single labels, public suffixes) — and reads a
// wildcard and upper case as Validate does.
func TestCheckIDN(t *testing.T) {
	for _, ok := range []string{"intranet", "com", "xn--bcher-kva", "*.XN--BCHER-KVA.example.test", "plain.example.test"} {
		if err := CheckIDN(ok); err != nil {
			t.Errorf("CheckIDN(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"xn--zz.example.test", "*.xn--zz.example.test", "XN--ZZ.example.test", "a.xn--.test"} {
		if err := CheckIDN(bad); err == nil {
			t.Errorf("CheckIDN(%q) = nil, want an error", bad)
		}
	}
}

// TestASCIIFormNotUTF8: bytes that are not UTF-8 have no ASCII form to
// suggest (x509util's CN hint used to offer xn--a-q10ia for "a\xff\xfe").
func TestASCIIFormNotUTF8(t *testing.T) {
	if got, ok := ASCIIForm("a\xff\xfe.example.com"); ok {
		t.Errorf("ASCIIForm of invalid UTF-8 = %q", got)
	}
	if got, ok := ASCIIForm("bücher.example"); !ok || got != "xn--bcher-kva.example" {
		t.Errorf("ASCIIForm(bücher.example) = %q, %v", got, ok)
	}
}

// TestCheckReservedHyphens: a label with hyphens in its 3rd and 4th
// positions is refused unless it is an "xn--" one, in any case and after
// a wildcard (tester: ca issue signed ab--cd.corp.internal).
func TestCheckReservedHyphens(t *testing.T) {
	for _, ok := range []string{"ab-cd.example.test", "xn--bcher-kva.example.test", "*.XN--BCHER-KVA.example.test", "a--b.test", "abc--d.test"} {
		if err := CheckReservedHyphens(ok); err != nil {
			t.Errorf("CheckReservedHyphens(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"ab--cd.corp.internal", "*.AB--CD.example.test", "www.ab--.test"} {
		if err := CheckReservedHyphens(bad); err == nil {
			t.Errorf("CheckReservedHyphens(%q) = nil, want an error", bad)
		}
	}
}
