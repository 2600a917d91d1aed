package casign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// spliceEntries covers what the entry encoder must get right: short, long
// and top-bit serials, every reason, times on both sides of UTCTime's range
// (1950-2049), sub-second times and other time zones.
func spliceEntries(n int) []Revoked {
	paris := time.FixedZone("CET", 3600)
	times := []time.Time{
		testNow, testNow.Add(1234567891 * time.Nanosecond).In(paris),
		time.Date(1949, 12, 31, 23, 59, 59, 999, time.UTC), time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 30, 23, 59, 59, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
	}
	serials := []*big.Int{
		big.NewInt(1), big.NewInt(0x7f), big.NewInt(0x80), big.NewInt(0xffff),
		new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, 20)), new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 19)),
		new(big.Int).SetBytes(bytes.Repeat([]byte{0xab}, 16)),
	}
	reasons := []int{0, 1, 2, 3, 4, 5, 6, 9, 10}
	out := make([]Revoked, n)
	for i := range out {
		s := serials[i%len(serials)]
		if i >= len(serials) {
			s = new(big.Int).Add(s, big.NewInt(int64(i)))
			if s.BitLen() > 159 {
				s = big.NewInt(int64(i) + 1)
			}
		}
		out[i] = Revoked{Serial: s, RevokedAt: times[i%len(times)].Add(time.Duration(i) * time.Second), Reason: reasons[i%len(reasons)]}
	}
	return out
}

// TestCRLSplicedMatchesStdlib: the CRL signed through the spliced list has
// byte for byte the TBSCertList x509.CreateRevocationList builds from the
// same entries (every field, extension and entry), for every CA key
// algorithm, the complete CRL and a partition, and verifies.
func TestCRLSplicedMatchesStdlib(t *testing.T) {
	algs := append([]string{}, caAlgorithms...)
	for _, alg := range algs {
		h := newHierarchy(t, alg)
		for _, n := range []int{1, 9, fastCRLMin + 3} {
			for _, dp := range []string{"", "http://crl.example.test/ca/3.crl"} {
				checkSpliced(t, alg, h.sub, h.subKey, 0, spliceEntries(n), dp)
			}
		}
	}
	// RSA-PSS and Ed25519: the other signer options of crlSignerOpts.
	h := newHierarchy(t, "RSA_2048")
	checkSpliced(t, "RSA-PSS", h.sub, h.subKey, x509.SHA384WithRSAPSS, spliceEntries(40), "")
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edCA := selfSignedCA(t, pkix.Name{CommonName: "ed25519 root"}, edKey)
	checkSpliced(t, "Ed25519", edCA, edKey, x509.PureEd25519, spliceEntries(40), "")
	// An issuer name longer than the room left before the entries
	// (crlHeadroom): the list moves once.
	long := pkix.Name{CommonName: "long issuer"}
	for i := range 40 {
		long.OrganizationalUnit = append(long.OrganizationalUnit, fmt.Sprintf("%02d-%s", i, strings.Repeat("u", 60)))
	}
	longKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	longCA := selfSignedCA(t, long, longKey)
	if len(longCA.RawSubject) <= crlHeadroom {
		t.Fatalf("the long issuer name is %d octets, not above %d", len(longCA.RawSubject), crlHeadroom)
	}
	checkSpliced(t, "long issuer", longCA, longKey, 0, spliceEntries(fastCRLMin+3), "http://crl.example.test/long/1.crl")
}

// TestCRLEntriesSignOnce: signed entries, small or large, take no more
// entries and sign no second CRL (a large list's buffer is the CRL's).
func TestCRLEntriesSignOnce(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	for _, n := range []int{3, fastCRLMin + 1} {
		l := crlEntries(t, spliceEntries(n))
		if _, err := SignCRL(h.sub, h.subKey, l, big.NewInt(1), testNow, testNow.Add(time.Hour), CRLOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.Add([]byte{1}, testNow, 0); !errors.Is(err, errSigned) {
			t.Errorf("%d entries: Add after SignCRL: %v, want %v", n, err, errSigned)
		}
		if _, err := SignCRL(h.sub, h.subKey, l, big.NewInt(2), testNow, testNow.Add(time.Hour), CRLOptions{}); !errors.Is(err, errSigned) {
			t.Errorf("%d entries: a second SignCRL: %v, want %v", n, err, errSigned)
		}
	}
	// A refused signature leaves the entries as they were.
	l := crlEntries(t, spliceEntries(fastCRLMin+1))
	if _, err := SignCRL(h.sub, h.rootKey, l, big.NewInt(1), testNow, testNow.Add(time.Hour), CRLOptions{}); err == nil {
		t.Fatal("signed with the wrong key")
	}
	der, err := SignCRL(h.sub, h.subKey, l, big.NewInt(1), testNow, testNow.Add(time.Hour), CRLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crl, err := x509.ParseRevocationList(der); err != nil || len(crl.RevokedCertificateEntries) != fastCRLMin+1 {
		t.Fatalf("after a refused signature: %v", err)
	}
}

// selfSignedCA is a root CA named name with key.
func selfSignedCA(t *testing.T, name pkix.Name, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := RootTemplate(name, key.Public(), big.NewInt(5), Validity{testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0)})
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func checkSpliced(t *testing.T, name string, ca *x509.Certificate, key crypto.Signer, alg x509.SignatureAlgorithm, entries []Revoked, dp string) {
	t.Helper()
	if alg == x509.UnknownSignatureAlgorithm {
		var err error
		if alg, err = signingAlgorithm(alg, key.Public()); err != nil {
			t.Fatal(err)
		}
	}
	opts, ok := crlSignerOpts(alg)
	if !ok {
		t.Fatalf("%s: no signer options for %s", name, alg)
	}
	tmpl := func() *x509.RevocationList {
		tl := &x509.RevocationList{SignatureAlgorithm: alg, Number: big.NewInt(1 << 40),
			ThisUpdate: testNow, NextUpdate: testNow.Add(7 * 24 * time.Hour)}
		if dp != "" {
			idp, err := issuingDistributionPoint(dp)
			if err != nil {
				t.Fatal(err)
			}
			tl.ExtraExtensions = []pkix.Extension{idp}
		}
		return tl
	}
	want := tmpl()
	want.RevokedCertificateEntries = stdlibEntries(entries)
	wantDER, err := x509.CreateRevocationList(rand.Reader, want, ca, key)
	if err != nil {
		t.Fatalf("%s: stdlib: %v", name, err)
	}
	gotDER, err := createCRLSpliced(tmpl(), ca, key, crlEntries(t, entries), opts)
	if err != nil {
		t.Fatalf("%s: spliced: %v", name, err)
	}
	wantCRL, err := x509.ParseRevocationList(wantDER)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x509.ParseRevocationList(gotDER)
	if err != nil {
		t.Fatalf("%s: %d entries, dp %q: the spliced CRL does not parse: %v", name, len(entries), dp, err)
	}
	if !bytes.Equal(got.RawTBSRevocationList, wantCRL.RawTBSRevocationList) {
		t.Fatalf("%s: %d entries, dp %q: TBSCertList differs from x509.CreateRevocationList's", name, len(entries), dp)
	}
	if !bytes.Equal(got.Raw, gotDER) {
		t.Errorf("%s: trailing data after the CRL", name)
	}
	if got.SignatureAlgorithm != alg {
		t.Errorf("%s: signature algorithm %s, want %s", name, got.SignatureAlgorithm, alg)
	}
	if err := got.CheckSignatureFrom(ca); err != nil {
		t.Errorf("%s: %d entries: signature: %v", name, len(entries), err)
	}
	if len(got.RevokedCertificateEntries) != len(entries) {
		t.Errorf("%s: %d entries, want %d", name, len(got.RevokedCertificateEntries), len(entries))
	}
	// When the algorithms are deterministic (RSA PKCS#1 v1.5, Ed25519),
	// the whole CRL is the stdlib's.
	if alg == x509.SHA256WithRSA || alg == x509.PureEd25519 {
		if !bytes.Equal(gotDER, wantDER) {
			t.Errorf("%s: CRL differs from x509.CreateRevocationList's", name)
		}
	}
}

// TestCreateCRLLarge goes through CreateCRLWith's spliced path (a list
// above fastCRLMin) and refuses what the stdlib path refuses.
func TestCreateCRLLarge(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	entries := spliceEntries(fastCRLMin)
	der, err := CreateCRLWith(h.sub, h.subKey, entries, big.NewInt(9), testNow, testNow.Add(time.Hour),
		CRLOptions{DistributionPoint: "http://crl.example.test/x/0.crl"})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(h.sub); err != nil {
		t.Error(err)
	}
	if len(crl.RevokedCertificateEntries) != len(entries) || crl.Number.Int64() != 9 || len(crl.Extensions) != 3 {
		t.Errorf("%d entries, number %v, %d extensions", len(crl.RevokedCertificateEntries), crl.Number, len(crl.Extensions))
	}
	for i, e := range crl.RevokedCertificateEntries {
		w := entries[i]
		if e.SerialNumber.Cmp(w.Serial) != 0 || !e.RevocationTime.Equal(w.RevokedAt.Truncate(time.Second)) || e.ReasonCode != w.Reason {
			t.Fatalf("entry %d = %v %v %d, want %v %v %d", i, e.SerialNumber, e.RevocationTime, e.ReasonCode, w.Serial, w.RevokedAt, w.Reason)
		}
	}
	for name, bad := range map[string]Revoked{
		"reason 7":  {Serial: big.NewInt(1), RevokedAt: testNow, Reason: 7},
		"serial 0":  {Serial: big.NewInt(0), RevokedAt: testNow},
		"21 octets": {Serial: new(big.Int).Lsh(big.NewInt(1), 160), RevokedAt: testNow},
		"zero time": {Serial: big.NewInt(1)},
	} {
		list := append(spliceEntries(fastCRLMin), bad)
		if _, err := CreateCRL(h.sub, h.subKey, list, big.NewInt(1), testNow, testNow.Add(time.Hour)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOpenSSLReadsLargeCRL: openssl verifies a CRL signed through the
// spliced list and reads its entries.
func TestOpenSSLReadsLargeCRL(t *testing.T) {
	openssl := interopTool(t, "openssl")
	for _, alg := range []string{"EC_prime256v1", "RSA_2048"} {
		h := newHierarchy(t, alg)
		entries := spliceEntries(fastCRLMin + 1)
		der, err := CreateCRL(h.sub, h.subKey, entries, big.NewInt(7), testNow, testNow.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		crlPath := writePEM(t, dir, "sub.crl", "X509 CRL", der)
		subPath := writePEM(t, dir, "sub.pem", "CERTIFICATE", h.sub.Raw)
		out := run(t, openssl, "crl", "-in", crlPath, "-noout", "-text", "-CAfile", subPath)
		if !strings.Contains(out, "verify OK") {
			t.Errorf("%s: openssl crl does not verify:\n%.2000s", alg, out)
		}
		if n := strings.Count(out, "Serial Number:"); n != len(entries) {
			t.Errorf("%s: openssl lists %d entries, want %d", alg, n, len(entries))
		}
	}
}

// stdlibEntries is entries as x509.CreateRevocationList takes them.
func stdlibEntries(entries []Revoked) []x509.RevocationListEntry {
	list := make([]x509.RevocationListEntry, len(entries))
	for i, e := range entries {
		list[i] = x509.RevocationListEntry{SerialNumber: e.Serial,
			RevocationTime: e.RevokedAt.UTC().Truncate(time.Second), ReasonCode: e.Reason}
	}
	return list
}

// crlEntries is entries added to a CRLEntries.
func crlEntries(t *testing.T, entries []Revoked) *CRLEntries {
	t.Helper()
	var l CRLEntries
	for _, e := range entries {
		if err := l.Add(e.Serial.Bytes(), e.RevokedAt, e.Reason); err != nil {
			t.Fatal(err)
		}
	}
	return &l
}

// TestCRLEntriesMoveOnce: a list of 100,000 entries is written into one
// buffer with room for the rest of the CRL, which is signed in place: the
// CRL is that buffer, and the list was moved only as the buffer doubled.
func TestCRLEntriesMoveOnce(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	var l CRLEntries
	moves, last := 0, 0
	for i := range 100000 {
		if err := l.Add(big.NewInt(int64(i)+1).Bytes(), testNow, i%6); err != nil {
			t.Fatal(err)
		}
		if c := cap(l.buf); c != last {
			moves, last = moves+1, c
		}
	}
	if moves > 20 {
		t.Errorf("the buffer was allocated %d times for 100,000 entries", moves)
	}
	buf := l.buf
	der, err := SignCRL(h.sub, h.subKey, &l, big.NewInt(3), testNow, testNow.Add(time.Hour), CRLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameArray(der, buf) {
		t.Error("the CRL was copied out of the entries' buffer")
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(h.sub); err != nil {
		t.Error(err)
	}
	if len(crl.RevokedCertificateEntries) != 100000 || crl.RevokedCertificateEntries[99999].SerialNumber.Int64() != 100000 {
		t.Errorf("%d entries", len(crl.RevokedCertificateEntries))
	}
}

// sameArray reports whether a and b share their underlying array.
func sameArray(a, b []byte) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	ea, eb := &a[:cap(a)][cap(a)-1], &b[:cap(b)][cap(b)-1]
	return ea == eb
}

// FuzzRevokedCertificates: Add writes what encoding/asn1 writes for the
// pkix.RevokedCertificate x509.CreateRevocationList builds for the entry,
// or refuses an entry x509 refuses or certctl never writes.
func FuzzRevokedCertificates(f *testing.F) {
	f.Add([]byte{1}, int64(1772600767), int64(0), 1)
	f.Add(bytes.Repeat([]byte{0xff}, 20), int64(-631152000), int64(5), 0)
	f.Add([]byte{0x80}, int64(2524608000), int64(999999999), 10)
	f.Add([]byte{0, 0, 0x7f}, int64(0), int64(1), 7)
	f.Fuzz(func(t *testing.T, serial []byte, sec, nsec int64, reason int) {
		var l CRLEntries
		err := l.Add(serial, time.Unix(sec, nsec), reason)
		n := new(big.Int).SetBytes(serial)
		at := time.Unix(sec, nsec)
		if checkSerial(n) != nil || ReasonName(reason) == "" || at.IsZero() {
			if err == nil {
				t.Fatalf("serial %x, reason %d, time %v: accepted", serial, reason, at)
			}
			return
		}
		rc := pkix.RevokedCertificate{SerialNumber: n, RevocationTime: at.UTC().Truncate(time.Second)}
		if reason != 0 {
			v, _ := asn1.Marshal(asn1.Enumerated(reason))
			rc.Extensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 21}, Value: v}}
		}
		want, werr := asn1.Marshal(rc)
		if (err != nil) != (werr != nil) {
			t.Fatalf("encoder error %v, asn1 error %v", err, werr)
		}
		if err == nil && !bytes.Equal(l.buf[crlHeadroom:], want) {
			t.Fatalf("encoded\n%x\nasn1\n%x", l.buf[crlHeadroom:], want)
		}
	})
}
