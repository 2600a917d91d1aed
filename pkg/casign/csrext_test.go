package casign

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

func kuExt(t testing.TB, ku x509.KeyUsage) pkix.Extension {
	t.Helper()
	var b []byte
	n := 0
	for i := 0; i < 9; i++ {
		if ku&(1<<i) != 0 {
			n = i + 1
		}
	}
	b = make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if ku&(1<<i) != 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	v, err := asn1.Marshal(asn1.BitString{Bytes: b, BitLength: n})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidKU, Critical: true, Value: v}
}

func ekuExt(t testing.TB, ids ...asn1.ObjectIdentifier) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(ids)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidEKU, Value: v}
}

func bcExt(t testing.TB, isCA bool, pathLen int) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(csrBasicConstraints{IsCA: isCA, MaxPathLen: pathLen})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidBC, Critical: true, Value: v}
}

func utf8Ext(t testing.TB, id asn1.ObjectIdentifier, critical bool, s string) pkix.Extension {
	t.Helper()
	v, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: id, Critical: critical, Value: v}
}

var (
	oidServerAuth  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	oidCodeSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
	oidEmailProt   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
	oidCustom      = asn1.ObjectIdentifier{1, 2, 3, 4}
	// mustStaple is the TLS Feature extension certbot --must-staple and
	// lego --must-staple put in their CSRs: status_request (5).
	mustStaple = pkix.Extension{Id: oidTLSFeature, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}
)

// TestBuildCSRExtensions: an extension the CSR asks for is either carried
// by the certificate (granted by the template) or refused with a
// *NameError naming it, and a template that would carry it — never
// dropped.
func TestBuildCSRExtensions(t *testing.T) {
	ski, err := keyIdentifier(cachedKey(t, "EC_prime256v1", "csr").Public())
	if err != nil {
		t.Fatal(err)
	}
	skiValue, _ := asn1.Marshal(ski)
	for _, tc := range []struct {
		name, alg, template string
		exts                []pkix.Extension
		passthrough         string
		want                []string // substrings of the refusal; nil: issued
	}{
		// What stock tools put in a CSR passes under EndEntity.
		{name: "SAN only", template: TemplateEndEntity},
		{name: "subject key identifier", template: TemplateEndEntity, exts: []pkix.Extension{{Id: oidSKI, Value: skiValue}}},
		{name: "CA:FALSE", template: TemplateEndEntity, exts: []pkix.Extension{bcExt(t, false, -1)}},
		{name: "server usages", template: TemplateEndEntity, exts: []pkix.Extension{ekuExt(t, oidServerAuth, oidClientAuth), kuExt(t, x509.KeyUsageDigitalSignature)}},
		{name: "RSA keyEncipherment", alg: "RSA_2048", template: TemplateEndEntity, exts: []pkix.Extension{kuExt(t, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment)}},
		{name: "codeSigning granted", template: PCACodeSigning, exts: []pkix.Extension{ekuExt(t, oidCodeSigning)}},

		{name: "codeSigning under EndEntity", template: TemplateEndEntity, exts: []pkix.Extension{ekuExt(t, oidCodeSigning)},
			want: []string{"extended key usage codeSigning", "EndEntityCertificate does not grant", "use CodeSigningCertificate"}},
		{name: "clientAuth under ServerAuth", template: PCAEndEntityServerAuth, exts: []pkix.Extension{ekuExt(t, oidServerAuth, oidClientAuth)},
			want: []string{"extended key usage clientAuth,", "use EndEntityCertificate)"}},
		{name: "emailProtection", template: PCAEndEntityClientAuth, exts: []pkix.Extension{ekuExt(t, oidEmailProt)},
			want: []string{"emailProtection", "use BlankEndEntityCertificate_APIPassthrough"}},
		{name: "ECDSA keyEncipherment", template: TemplateEndEntity, exts: []pkix.Extension{kuExt(t, x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment)},
			want: []string{"key usage keyEncipherment,", "to an ECDSA key"}},
		{name: "nonRepudiation", alg: "RSA_2048", template: TemplateEndEntity, exts: []pkix.Extension{kuExt(t, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment|x509.KeyUsageKeyEncipherment)},
			want: []string{"key usage nonRepudiation,", "BlankEndEntityCertificate_APIPassthrough"}},
		{name: "CA:TRUE under EndEntity", template: TemplateEndEntity, exts: []pkix.Extension{caTrueExtension(t)},
			want: []string{"CA:TRUE", "end-entity", "SubordinateCACertificate_PathLen0..3"}},
		{name: "custom extension", template: TemplateEndEntity, exts: []pkix.Extension{utf8Ext(t, oidCustom, false, "hello")},
			want: []string{"extension 1.2.3.4 cannot be carried by template EndEntityCertificate", "use EndEntityCertificate_CSRPassthrough"}},
		{name: "critical custom extension", template: PCACodeSigning, exts: []pkix.Extension{utf8Ext(t, oidCustom, true, "hello")},
			want: []string{"critical extension 1.2.3.4"}},
		{name: "must-staple", template: TemplateEndEntity, exts: []pkix.Extension{mustStaple},
			want: []string{"TLS Feature (OCSP must-staple) (1.3.6.1.5.5.7.1.24)", "EndEntityCertificate_CSRPassthrough"}},
		{name: "CRL distribution point", template: TemplateEndEntity, exts: []pkix.Extension{utf8Ext(t, oidCRL, false, "x")},
			want: []string{"cRLDistributionPoints", "issuing CA's configuration"}},
		{name: "passthrough carries", template: PCACSRPassthrough, exts: []pkix.Extension{utf8Ext(t, oidCustom, false, "hello"), mustStaple}},
		// What the passthrough template sets itself, or certctl from the
		// CA, is not copied: asked for beyond it, refused, not dropped
		// (tester: CA:TRUE, keyCertSign, codeSigning and name
		// constraints were issued away without a word).
		{name: "passthrough CA:TRUE", template: PCACSRPassthrough, exts: []pkix.Extension{caTrueExtension(t)},
			want: []string{"CA:TRUE", "template EndEntityCertificate_CSRPassthrough makes an end-entity certificate"}},
		{name: "passthrough keyCertSign", template: PCACSRPassthrough, exts: []pkix.Extension{kuExt(t, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign)},
			want: []string{"key usage keyCertSign", "EndEntityCertificate_CSRPassthrough does not grant"}},
		{name: "passthrough codeSigning", template: PCACSRPassthrough, exts: []pkix.Extension{ekuExt(t, oidCodeSigning)},
			want: []string{"extended key usage codeSigning", "EndEntityCertificate_CSRPassthrough does not grant"}},
		{name: "passthrough name constraints", template: PCACSRPassthrough, exts: []pkix.Extension{utf8Ext(t, oidNC, true, "x")},
			want: []string{"nameConstraints", "issuing CA's configuration"}},
		{name: "passthrough server usages", template: PCACSRPassthrough, exts: []pkix.Extension{ekuExt(t, oidServerAuth), kuExt(t, x509.KeyUsageDigitalSignature), bcExt(t, false, -1), utf8Ext(t, oidCustom, false, "hello")}},

		// CA templates.
		{name: "CA CSR", template: TemplateSubordinateCA, exts: []pkix.Extension{caTrueExtension(t), kuExt(t, x509.KeyUsageCertSign|x509.KeyUsageCRLSign)}},
		{name: "path length within", template: PCASubordinateCAPathLen1, exts: []pkix.Extension{bcExt(t, true, 0)}},
		{name: "path length asked", template: PCASubordinateCAPathLen1, exts: []pkix.Extension{bcExt(t, true, 1)}},
		{name: "path length beyond", template: TemplateSubordinateCA, exts: []pkix.Extension{bcExt(t, true, 2)},
			want: []string{"path length of 2", "grants 0", "use SubordinateCACertificate_PathLen2"}},
		{name: "CA:FALSE under a CA template", template: TemplateSubordinateCA, exts: []pkix.Extension{bcExt(t, false, -1)},
			want: []string{"CA:FALSE", "use EndEntityCertificate"}},
		{name: "EKU under a CA template", template: TemplateSubordinateCA, exts: []pkix.Extension{ekuExt(t, oidServerAuth)},
			want: []string{"extended key usage serverAuth, which template SubordinateCACertificate_PathLen0 does not grant"}},

		// The API passthrough template carries what the passthrough gives.
		{name: "API passthrough grants", template: PCABlankAPIPassthrough,
			exts: []pkix.Extension{ekuExt(t, oidEmailProt), kuExt(t, x509.KeyUsageDigitalSignature), utf8Ext(t, oidCustom, false, "hello")},
			passthrough: `{"Extensions":{"KeyUsage":{"DigitalSignature":true},"ExtendedKeyUsage":[{"ExtendedKeyUsageType":"EMAIL_PROTECTION"}],
				"CustomExtensions":[{"ObjectIdentifier":"1.2.3.4","Value":"` + base64.StdEncoding.EncodeToString(utf8Ext(t, oidCustom, false, "hello").Value) + `"}]}}`},
		// An EKU by OID that the passthrough grants (x509's
		// UnknownExtKeyUsage) is one of the certificate's (final review).
		{name: "API passthrough grants an EKU by OID", template: PCABlankAPIPassthrough,
			exts:        []pkix.Extension{ekuExt(t, oidCustom)},
			passthrough: `{"Extensions":{"ExtendedKeyUsage":[{"ExtendedKeyUsageObjectIdentifier":"1.2.3.4"}]}}`},
		{name: "API passthrough grants another EKU by OID", template: PCABlankAPIPassthrough,
			exts:        []pkix.Extension{ekuExt(t, oidCustom)},
			passthrough: `{"Extensions":{"ExtendedKeyUsage":[{"ExtendedKeyUsageObjectIdentifier":"1.2.3.5"}]}}`,
			want:        []string{"extended key usage 1.2.3.4"}},
		// Key usages the key cannot have (tester: zlint's
		// e_rsa_allowed_ku_ee and e_ecdsa_allowed_ku fired).
		{name: "API passthrough KeyAgreement for RSA", template: PCABlankAPIPassthrough, alg: "RSA_2048",
			passthrough: `{"Extensions":{"KeyUsage":{"DigitalSignature":true,"KeyAgreement":true}}}`,
			want:        []string{"KeyUsage KeyAgreement is not allowed for an RSA key"}},
		{name: "API passthrough KeyEncipherment for EC", template: PCABlankAPIPassthrough,
			passthrough: `{"Extensions":{"KeyUsage":{"KeyEncipherment":true,"DataEncipherment":true}}}`,
			want:        []string{"KeyUsage KeyEncipherment, DataEncipherment is not allowed for an EC key"}},
		{name: "API passthrough KeyAgreement for EC", template: PCABlankAPIPassthrough,
			passthrough: `{"Extensions":{"KeyUsage":{"KeyAgreement":true,"EncipherOnly":true}}}`},
		{name: "API passthrough KeyEncipherment for RSA", template: PCABlankAPIPassthrough, alg: "RSA_2048",
			passthrough: `{"Extensions":{"KeyUsage":{"KeyEncipherment":true}}}`},
		{name: "API passthrough lacks", template: PCABlankAPIPassthrough, exts: []pkix.Extension{utf8Ext(t, oidCustom, false, "hello")},
			passthrough: `{"Extensions":{"CustomExtensions":[{"ObjectIdentifier":"1.2.3.4","Value":"` + base64.StdEncoding.EncodeToString(utf8Ext(t, oidCustom, false, "bye").Value) + `"}]}}`,
			want:        []string{"extension 1.2.3.4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alg := tc.alg
			if alg == "" {
				alg = "EC_prime256v1"
			}
			subject := pkix.Name{CommonName: "app.example.test"}
			if isCA, _ := IsCATemplate(mustCanonical(t, tc.template)); isCA {
				subject = pkix.Name{CommonName: "Sub CA"}
			}
			der := makeCSR(t, cachedKey(t, alg, "csr"), subject, []string{"app.example.test"}, tc.exts...)
			csr, err := x509.ParseCertificateRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			in := Issue{CSR: csr, Template: tc.template, Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(0, 1, 0)}}
			if tc.passthrough != "" {
				if in.Passthrough, err = ParseAPIPassthrough([]byte(tc.passthrough)); err != nil {
					t.Fatal(err)
				}
			}
			tmpl, err := Build(in)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.template == PCACSRPassthrough && !slices.ContainsFunc(tmpl.ExtraExtensions, func(e pkix.Extension) bool { return e.Id.Equal(oidCustom) }) {
					t.Error("the CSR's extension was not copied")
				}
				return
			}
			var ne *NameError
			if !errors.As(err, &ne) {
				t.Fatalf("got %v (%T), want a *NameError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q lacks %q", err, w)
				}
			}
		})
	}
}

func mustCanonical(t testing.TB, name string) string {
	t.Helper()
	n, err := CanonicalTemplate(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBuildMalformedCSRExtensions: an extension certctl reads that does
// not parse is the CSR's problem, named.
func TestBuildMalformedCSRExtensions(t *testing.T) {
	for _, e := range []pkix.Extension{{Id: oidKU, Value: []byte{5, 0}}, {Id: oidEKU, Value: []byte{4, 1, 0}}, {Id: oidBC, Value: []byte{0x30, 3, 2, 1, 0x80}}} {
		der := makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: "app.example.test"}, nil, e)
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(Issue{CSR: csr, Template: TemplateEndEntity, Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(0, 1, 0)}})
		var ce *CSRError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%v: got %v", e.Id, err)
		}
	}
}

// TestCSRPassthroughNamesTheHost: EndEntityCertificate_CSRPassthrough is
// EndEntity with the CSR's other extensions, so a CN that is a host name
// or an IP address is in the SAN, as EndEntity puts it (tester: a CSR
// with a CN and no SAN got a certificate without a SAN, which Go and
// browsers refuse); a CN that is neither is not.
func TestCSRPassthroughNamesTheHost(t *testing.T) {
	for cn, want := range map[string][]string{"ms.example.test": {"ms.example.test"}, "192.0.2.7": {"192.0.2.7"}, "Build Robot": nil} {
		for _, tmpl := range []string{TemplateEndEntity, PCACSRPassthrough} {
			if tmpl == TemplateEndEntity && want == nil {
				continue // EndEntity refuses such a CN
			}
			csr, err := x509.ParseCertificateRequest(makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: cn}, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(Issue{CSR: csr, Template: tmpl, Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(0, 1, 0)}})
			if err != nil {
				t.Fatalf("%s, CN %s: %v", tmpl, cn, err)
			}
			var names []string
			names = append(names, got.DNSNames...)
			for _, ip := range got.IPAddresses {
				names = append(names, ip.String())
			}
			if !slices.Equal(names, want) {
				t.Errorf("%s, CN %s: SAN %v, want %v", tmpl, cn, names, want)
			}
		}
	}
}

// TestBuildRefusesCSRSubject: a CSR subject the CA will not sign is named
// once ("subject CN is longer…", not "subject: subject CN…").
func TestBuildRefusesCSRSubject(t *testing.T) {
	der := makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: strings.Repeat("a", 65)}, []string{"app.example.test"})
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(Issue{CSR: csr, Template: TemplateEndEntity, Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(0, 1, 0)}})
	var ce *CSRError
	if !errors.As(err, &ce) || err.Error() != "certificate signing request: subject CN is longer than 64 characters" {
		t.Errorf("got %v", err)
	}
}

// TestBuildRefusesInvalidPunycode: an "xn--" label that is not punycode of
// a valid IDN is refused under every template that carries DNS names —
// from the CSR's SAN, its CN, or ApiPassthrough — as request refuses it
// (tester: ca issue signed xn--zz.t45.test, which zlint's
// e_international_dns_name_not_unicode fails); a valid one is carried.
func TestBuildRefusesInvalidPunycode(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "csr")
	v := Validity{testNow, testNow.AddDate(0, 1, 0)}
	build := func(tmpl string, subject pkix.Name, dns []string, pt *APIPassthrough) (*x509.Certificate, error) {
		csr, err := x509.ParseCertificateRequest(makeCSR(t, key, subject, dns))
		if err != nil {
			t.Fatal(err)
		}
		return Build(Issue{CSR: csr, Template: tmpl, Serial: mustSerial(t), Validity: v, Passthrough: pt})
	}
	for _, bad := range []string{"xn--zz.t45.example.test", "*.xn--zz.example.test", "ok.xn--a.example.test"} {
		for _, tmpl := range []string{PCAEndEntity, PCAEndEntityServerAuth, PCAEndEntityClientAuth, PCACSRPassthrough} {
			if _, err := build(tmpl, pkix.Name{CommonName: "ok.example.test"}, []string{"ok.example.test", bad}, nil); err == nil || !strings.Contains(err.Error(), "internationalized") {
				t.Errorf("%s, SAN %s: %v, want it refused as an invalid IDN", tmpl, bad, err)
			}
		}
		// A CN that reads as a host name is one under every template
		// (review: CSRPassthrough and ClientAuth took it for a person's
		// name, signed it and left it out of the SAN).
		for _, tmpl := range []string{PCAEndEntity, PCAEndEntityServerAuth, PCAEndEntityClientAuth, PCACSRPassthrough, PCACodeSigning} {
			if _, err := build(tmpl, pkix.Name{CommonName: bad}, []string{"ok.example.test"}, nil); err == nil || !strings.Contains(err.Error(), "internationalized") {
				t.Errorf("%s, CN %s: %v, want it refused as an invalid IDN", tmpl, bad, err)
			}
		}
		pt := &APIPassthrough{Extensions: &PassthroughExtensions{SubjectAlternativeNames: []PassthroughSAN{{DnsName: bad}}}}
		if _, err := build(PCABlankAPIPassthrough, pkix.Name{CommonName: "ok.example.test"}, nil, pt); err == nil || !strings.Contains(err.Error(), "internationalized") {
			t.Errorf("ApiPassthrough DnsName %s: %v, want it refused as an invalid IDN", bad, err)
		}
	}
	good := "xn--bcher-kva.example.test" // bücher
	for _, tmpl := range []string{PCAEndEntity, PCACSRPassthrough} {
		got, err := build(tmpl, pkix.Name{CommonName: good}, []string{good}, nil)
		if err != nil || !slices.Equal(got.DNSNames, []string{good}) {
			t.Errorf("%s, %s: %v, DNS names %v; want it carried", tmpl, good, err, got)
		}
	}
}

// TestBuildCarriesCSRSubjectKeyID: a subject key identifier the CSR asks
// for is the end-entity certificate's — under an end-entity template and
// the CSR passthrough — not replaced by the one computed from the key
// (tester); a subordinate CA template carries only the key's own (its
// children's authority key identifier is then that value) and refuses
// another, named; a malformed one is refused, named.
func TestBuildCarriesCSRSubjectKeyID(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	key := cachedKey(t, "EC_prime256v1", "csr")
	own, err := keyIdentifier(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	arbitrary := []byte{1, 2, 3, 4, 5}
	v := Validity{testNow, testNow.AddDate(0, 1, 0)}
	ski := func(id []byte) pkix.Extension {
		val, err := asn1.Marshal(id)
		if err != nil {
			t.Fatal(err)
		}
		return pkix.Extension{Id: oidSKI, Value: val}
	}
	caCSR, err := x509.ParseCertificateRequest(makeCSR(t, key, pkix.Name{CommonName: "ski.example.test"}, nil, ski(arbitrary)))
	if err != nil {
		t.Fatal(err)
	}
	var ne *NameError
	if _, err := Build(Issue{CSR: caCSR, Template: PCASubordinateCAPathLen0, Serial: mustSerial(t), Validity: v}); !errors.As(err, &ne) || !strings.Contains(err.Error(), "subject key identifier 0102030405") {
		t.Errorf("a subordinate CA asking for another key identifier: %v, want it refused, named", err)
	}
	for _, tmpl := range []string{PCAEndEntity, PCACSRPassthrough, PCASubordinateCAPathLen0} {
		var sans []string
		want := arbitrary
		if tmpl != PCASubordinateCAPathLen0 {
			sans = []string{"ski.example.test"}
		} else {
			want = own
		}
		csr, err := x509.ParseCertificateRequest(makeCSR(t, key, pkix.Name{CommonName: "ski.example.test"}, sans, ski(want)))
		if err != nil {
			t.Fatal(err)
		}
		validity := v
		if tmpl == PCASubordinateCAPathLen0 {
			validity.NotAfter = h.sub.NotAfter // its child's outlasts a month
		}
		tt, err := Build(Issue{CSR: csr, Template: tmpl, Serial: mustSerial(t), Validity: validity})
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		cert, err := Sign(tt, h.sub, csr.PublicKey, h.subKey)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if !bytes.Equal(cert.SubjectKeyId, want) || countExt(cert, oidSKI) != 1 {
			t.Errorf("%s: subject key identifier %x (%d extensions), want %x once", tmpl, cert.SubjectKeyId, countExt(cert, oidSKI), want)
		}
		if tmpl == PCASubordinateCAPathLen0 {
			child, _ := issueLeaf(t, hierarchy{root: h.sub, sub: cert, subKey: key}, "EC_prime256v1", "child.example.test")
			if !bytes.Equal(child.AuthorityKeyId, want) {
				t.Errorf("a child of the subordinate: authority key identifier %x, want %x", child.AuthorityKeyId, want)
			}
		}
	}
	for _, bad := range []pkix.Extension{ski(nil), ski(make([]byte, 65)), {Id: oidSKI, Value: []byte{2, 1, 0}}} {
		csr, err := x509.ParseCertificateRequest(makeCSR(t, key, pkix.Name{CommonName: "ski.example.test"}, nil, bad))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(Issue{CSR: csr, Template: PCAEndEntity, Serial: mustSerial(t), Validity: v})
		var ce *CSRError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "subject key identifier") {
			t.Errorf("subject key identifier %x: %v, want it refused, named", bad.Value, err)
		}
	}
}

// TestBuildRefusesSubjectEmailNotInSAN: an emailAddress in the CSR's
// subject that no email SAN carries is refused and named (tester: every
// template signed it, and zlint's e_subj_email_not_in_san failed the
// certificate), under a server template and one that carries email; with
// the address in the SAN too, the certificate is made.
func TestBuildRefusesSubjectEmailNotInSAN(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "csr")
	email := pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: "ops@corp.example.test"}
	v := Validity{testNow, testNow.AddDate(0, 1, 0)}
	build := func(tmpl string, emails []string) error {
		der, err := x509.CreateCertificateRequest(randReader(), &x509.CertificateRequest{
			Subject:        pkix.Name{CommonName: "host.example.test", ExtraNames: []pkix.AttributeTypeAndValue{email}},
			EmailAddresses: emails,
		}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(Issue{CSR: csr, Template: tmpl, Serial: mustSerial(t), Validity: v})
		return err
	}
	for _, tmpl := range []string{TemplateEndEntity, PCAEndEntityClientAuth, PCACSRPassthrough} {
		var ne *NameError
		if err := build(tmpl, nil); !errors.As(err, &ne) || !strings.Contains(err.Error(), `"ops@corp.example.test" is in no subject alternative name`) {
			t.Errorf("%s: %v, want the address named", tmpl, err)
		}
	}
	if err := build(PCAEndEntityClientAuth, []string{"ops@corp.example.test"}); err != nil {
		t.Errorf("the address in the SAN too: %v", err)
	}
	if err := build(PCAEndEntityClientAuth, []string{"Ops@corp.example.test"}); err == nil || !strings.Contains(err.Error(), `spelled "Ops@corp.example.test"`) {
		t.Errorf("the address in the SAN in another case: %v", err)
	}
}

// TestBuildReservedHyphens: a DNS name the certificate carries with
// hyphens in a label's 3rd and 4th positions (no "xn--" label) is refused,
// as request refuses it (tester: ca issue signed ab--cd.corp.internal); a
// client certificate's CN that merely reads as one is no DNS name it
// carries, and is signed (review: my--svc was refused).
func TestBuildReservedHyphens(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "csr")
	v := Validity{testNow, testNow.AddDate(0, 1, 0)}
	build := func(tmpl, cn string, dns []string) error {
		csr, err := x509.ParseCertificateRequest(makeCSR(t, key, pkix.Name{CommonName: cn}, dns))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(Issue{CSR: csr, Template: tmpl, Serial: mustSerial(t), Validity: v})
		return err
	}
	if err := build(TemplateEndEntity, "ab--cd.corp.example.test", nil); err == nil || !strings.Contains(err.Error(), "3rd and 4th positions") {
		t.Errorf("EndEntity, CN ab--cd.corp.example.test: %v", err)
	}
	if err := build(PCAEndEntityClientAuth, "Ops", []string{"ab--cd.corp.example.test"}); err == nil {
		t.Error("ClientAuth, SAN ab--cd.corp.example.test: signed")
	}
	if err := build(PCAEndEntityClientAuth, "my--svc", nil); err != nil {
		t.Errorf("ClientAuth, CN my--svc: %v", err)
	}
}
