package x509util

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net"
	"net/url"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sanOf is the subjectAltName extension crypto/x509 makes for a
// certificate with tmpl's names.
func sanOf(t testing.TB, tmpl *x509.Certificate) []byte {
	t.Helper()
	k := ecKey(t, elliptic.P256())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(OIDSubjectAltName) {
			return e.Value
		}
	}
	t.Fatal("no subjectAltName extension")
	return nil
}

// TestParseSubjectAltName: every kind of name is kept, in order, with its
// contents; anything but one SEQUENCE of context-specific GeneralNames is
// refused.
func TestParseSubjectAltName(t *testing.T) {
	u, _ := url.Parse("https://lab.test/x")
	value := sanOf(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		DNSNames: []string{"a.lab.test"}, EmailAddresses: []string{"ops@lab.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, URIs: []*url.URL{u}})
	got, err := ParseSubjectAltName(value)
	if err != nil {
		t.Fatal(err)
	}
	want := []GeneralName{
		{Tag: GeneralNameDNS, Value: []byte("a.lab.test")},
		{Tag: GeneralNameRFC822, Value: []byte("ops@lab.test")},
		{Tag: GeneralNameIP, Value: []byte{127, 0, 0, 1}},
		{Tag: GeneralNameURI, Value: []byte("https://lab.test/x")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Tag != want[i].Tag || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Errorf("name %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	dir, _ := asn1.Marshal(pkix.Name{CommonName: "x"}.ToRDNSequence())
	kinds, _ := asn1.Marshal([]asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2a, 0x03}},
		{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dir},
	})
	got, err = ParseSubjectAltName(kinds)
	if err != nil || len(got) != 2 || got[0].Kind() != "registeredID" || got[1].Kind() != "directoryName" || !bytes.Equal(got[1].Value, dir) {
		t.Errorf("registeredID and directoryName: %+v, %v", got, err)
	}

	for name, v := range map[string][]byte{
		"empty":                      nil,
		"no names":                   {0x30, 0x00},
		"trailing data":              append(append([]byte{}, value...), 0),
		"a SET":                      append([]byte{0x31}, value[1:]...),
		"a universal string":         {0x30, 0x03, 0x16, 0x01, 'x'},
		"tag 9":                      {0x30, 0x03, 0x89, 0x01, 'x'},
		"an application tag":         {0x30, 0x03, 0x42, 0x01, 'x'},
		"a truncated name":           {0x30, 0x03, 0x82, 0x05, 'x'},
		"a non-minimal length":       {0x30, 0x04, 0x82, 0x81, 0x01, 'x'},
		"a constructed dNSName":      {0x30, 0x05, 0xa2, 0x03, 0x16, 0x01, 'x'},
		"a constructed rfc822Name":   {0x30, 0x03, 0xa1, 0x01, 'x'},
		"a constructed URI":          {0x30, 0x03, 0xa6, 0x01, 'x'},
		"a constructed iPAddress":    {0x30, 0x06, 0xa7, 0x04, 127, 0, 0, 1},
		"a constructed registeredID": {0x30, 0x04, 0xa8, 0x02, 0x2a, 0x03},
		"a primitive directoryName":  {0x30, 0x03, 0x84, 0x01, 'x'},
		"a primitive otherName":      {0x30, 0x03, 0x80, 0x01, 'x'},
	} {
		if got, err := ParseSubjectAltName(v); err == nil {
			t.Errorf("%s: parsed to %+v", name, got)
		}
	}
}

// FuzzParseSubjectAltName: a subjectAltName value parses to names that
// re-encode to the same DER, or is refused, never a panic.
func FuzzParseSubjectAltName(f *testing.F) {
	f.Add(sanOf(f, &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"a.lab.test", "b.lab.test"}, IPAddresses: []net.IP{net.IPv6loopback}}))
	for _, s := range [][]byte{{0x30, 0x04, 0x88, 0x02, 0x2a, 0x03}, {0x30, 0x00}, {0x30, 0x02, 0xa4, 0x00}, nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		names, err := ParseSubjectAltName(value)
		if err != nil {
			return
		}
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, g := range names {
				tag := cbasn1.Tag(g.Tag).ContextSpecific()
				if generalNameConstructed(g.Tag) {
					tag = tag.Constructed()
				}
				b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(g.Value) })
			}
		})
		again, err := b.Bytes()
		if len(names) == 0 || err != nil || !bytes.Equal(again, value) || names[0].Kind() == "" {
			t.Fatalf("%x parsed to %+v", value, names)
		}
	})
}
