package casign

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
)

// TestCheckOtherSANs: a CSR's subjectAltName may hold only the kinds of
// name a certificate of the vault carries (DNS, email, IP, URI); another
// kind is refused by name, and an extension that is not a SEQUENCE of
// context-specific GeneralNames is malformed (crypto/x509 would drop what
// it does not read).
func TestCheckOtherSANs(t *testing.T) {
	gn := func(class, tag int, compound bool, b []byte) asn1.RawValue {
		return asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: b}
	}
	dns := gn(asn1.ClassContextSpecific, 2, false, []byte("a.lab.test"))
	seq := func(vs ...asn1.RawValue) []byte {
		b, err := asn1.Marshal(vs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name  string
		value []byte
		want  string // "" ok; else a word of the refusal
		name_ bool   // a NameError (a kind refused), else a CSRError (malformed)
	}{
		{"dNSName", seq(dns), "", false},
		{"all four kinds", seq(dns, gn(asn1.ClassContextSpecific, 1, false, []byte("a@lab.test")),
			gn(asn1.ClassContextSpecific, 6, false, []byte("https://lab.test")), gn(asn1.ClassContextSpecific, 7, false, []byte{10, 0, 0, 1})), "", false},
		{"registeredID", seq(dns, gn(asn1.ClassContextSpecific, 8, false, []byte{0x2a, 0x03})), "registeredID", true},
		{"otherName", seq(gn(asn1.ClassContextSpecific, 0, true, []byte{6, 1, 0x2a, 0xa0, 0})), "otherName", true},
		{"directoryName", seq(gn(asn1.ClassContextSpecific, 4, true, []byte{0x30, 0})), "directoryName", true},
		{"a universal INTEGER where a name goes", seq(dns, gn(asn1.ClassUniversal, 2, false, []byte{1})), "malformed", false},
		{"a constructed dNSName", seq(gn(asn1.ClassContextSpecific, 2, true, []byte{0x16, 1, 'a'})), "malformed", false},
		{"tag 9", seq(dns, gn(asn1.ClassContextSpecific, 9, false, []byte{1})), "malformed", false},
		{"trailing bytes", append(seq(dns), 0), "malformed", false},
		{"not a SEQUENCE", []byte{0x04, 0x00}, "malformed", false},
	} {
		err := checkOtherSANs([]pkix.Extension{{Id: oidSAN, Value: c.value}})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		case c.want != "":
			var ne *NameError
			if errors.As(err, &ne) != c.name_ {
				t.Errorf("%s: %T, want a NameError %v", c.name, err, c.name_)
			}
		}
	}
}
