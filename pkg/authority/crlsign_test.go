package authority

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

// outsideRoot is a self-signed root made outside certctl, valid from now
// for validity, with Key Usage ku (0: no Key Usage extension).
func outsideRoot(t *testing.T, now time.Time, validity time.Duration, ku x509.KeyUsage) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "Outside Root", Organization: []string{"mkcert development CA"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity),
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, KeyUsage: ku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A CA whose certificate's Key Usage lacks cRLSign (mkcert's root) cannot
// publish CRLs, and certctl says so everywhere: its certificates carry no
// CRL distribution point but keep their OCSP location, ca crl refuses it
// (exit 5) naming why and that OCSP answers, the responder answers 404 for
// its CRL (not 500) while its OCSP works, describe shows its CRL disabled,
// and its import carries a notice.
func TestCANoCRLSign(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	s.BaseURL = "http://pki.example.test"
	cert, key := outsideRoot(t, clk.now, 30*timeutil.Day, x509.KeyUsageCertSign)
	r, _, err := importCA(t, s, ImportCARequest{Certificate: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if r.SignsCRLs() {
		t.Fatal("SignsCRLs of a keyCertSign-only CA")
	}
	if n := r.CRLNotice(); !strings.Contains(n, "cannot sign CRLs") || !strings.Contains(n, "cRLSign") || !strings.Contains(n, "OCSP") {
		t.Errorf("notice %q", n)
	}
	iss, err := issueLeaf(t, s, reload(t, s, r.ID), "c1", "app.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(iss.Certificate.CRLDistributionPoints) != 0 {
		t.Errorf("certificate carries CRL DP %v", iss.Certificate.CRLDistributionPoints)
	}
	if got := iss.Certificate.OCSPServer; len(got) != 1 || got[0] != "http://pki.example.test/ocsp" {
		t.Errorf("OCSP %v", got)
	}

	err = update(t, s, func(tx localstore.Tx) error {
		_, err := s.CRL(tx, reload(t, s, r.ID))
		return err
	})
	if errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "cRLSign") || !strings.Contains(err.Error(), "OCSP") {
		t.Errorf("ca crl: %v (exit %d), want exit 5 naming cRLSign and OCSP", err, errs.ExitCodeOf(err))
	}
	if rc := s.EffectiveRevocation(reload(t, s, r.ID)); rc.CrlConfiguration.Enabled || !rc.OcspConfiguration.Enabled {
		t.Errorf("effective revocation %+v %+v", rc.CrlConfiguration, rc.OcspConfiguration)
	}

	l := s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(context.Background(), fn) }, nil, nil)
	if _, err := l.CRL(r.ID); !errors.Is(err, casign.ErrNotFound) {
		t.Errorf("Lookup.CRL: %v, want ErrNotFound", err)
	}
	srv := httptest.NewServer(casign.NewResponder(l, clk.Now, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/crl/" + r.ID + ".crl")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("CRL URL answers %d, want 404", resp.StatusCode)
	}
	cas, err := l.CAs()
	if err != nil || len(cas) != 1 {
		t.Fatalf("OCSP CAs %d, %v", len(cas), err)
	}
}

// A CA certificate without a Key Usage extension may sign CRLs (RFC 5280
// allows it every usage): it publishes them like any CA.
func TestCANoKeyUsageSignsCRLs(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	s.BaseURL = "http://pki.example.test"
	cert, key := outsideRoot(t, clk.now, 30*timeutil.Day, 0)
	r, _, err := importCA(t, s, ImportCARequest{Certificate: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if !r.SignsCRLs() || r.CRLNotice() != "" {
		t.Fatalf("SignsCRLs %v, notice %q", r.SignsCRLs(), r.CRLNotice())
	}
	iss, err := issueLeaf(t, s, reload(t, s, r.ID), "c1", "app.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(iss.Certificate.CRLDistributionPoints) != 1 {
		t.Errorf("CRL DP %v", iss.Certificate.CRLDistributionPoints)
	}
	var der []byte
	mustUpdate(t, s, func(tx localstore.Tx) (err error) {
		der, err = s.CRL(tx, reload(t, s, r.ID))
		return err
	})
	crl, err := x509.ParseRevocationList(der)
	if err != nil || crl.CheckSignatureFrom(cert) != nil {
		t.Fatalf("CRL: %v", err)
	}
}

// A CRL's nextUpdate never goes past its CA's certificate: a 30-day CA
// whose CRLs last 5000 days signs CRLs that end with it.
func TestCRLNextUpdateWithinCA(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	cert, key := outsideRoot(t, clk.now, 30*timeutil.Day, x509.KeyUsageCertSign|x509.KeyUsageCRLSign)
	r, _, err := importCA(t, s, ImportCARequest{Certificate: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ParseRevocationConfiguration([]byte(`{"CrlConfiguration":{"Enabled":true,"ExpirationInDays":5000}}`))
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.UpdateRevocation(tx, reload(t, s, r.ID), rc) })
	crlAt := func() *x509.RevocationList {
		t.Helper()
		var der []byte
		mustUpdate(t, s, func(tx localstore.Tx) (err error) {
			der, err = s.CRL(tx, reload(t, s, r.ID))
			return err
		})
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return crl
	}
	if crl := crlAt(); !crl.NextUpdate.Equal(cert.NotAfter) {
		t.Errorf("nextUpdate %s, want the CA's NotAfter %s", crl.NextUpdate, cert.NotAfter)
	}
	// Far from its end, the configured expiry applies.
	rc.CrlConfiguration.ExpirationInDays = 2
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.UpdateRevocation(tx, reload(t, s, r.ID), rc) })
	if crl := crlAt(); !crl.NextUpdate.Equal(clk.now.Add(2 * timeutil.Day).Truncate(time.Second)) {
		t.Errorf("nextUpdate %s, want 2 days on", crl.NextUpdate)
	}
}

// TestCRLThisUpdate: a CRL is dated casign.Backdate before its signing,
// but not before the latest revocation it lists (tester: a CRL signed
// within a minute of a revocation predated it), nor after its signing (a
// revocation dated ahead by another host's clock: openssl refuses a CRL
// not yet valid).
func TestCRLThisUpdate(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 500, time.UTC)
	entries := func(at ...time.Time) *casign.CRLEntries {
		var l casign.CRLEntries
		for i, a := range at {
			if err := l.Add([]byte{byte(i + 1)}, a, 1); err != nil {
				t.Fatal(err)
			}
		}
		return &l
	}
	for _, c := range []struct {
		name string
		l    *casign.CRLEntries
		want time.Time
	}{
		{"none", entries(), now.Add(-casign.Backdate)},
		{"an hour ago", entries(now.Add(-time.Hour)), now.Add(-casign.Backdate)},
		{"10 s ago", entries(now.Add(-time.Hour), now.Add(-10*time.Second)), now.Add(-10 * time.Second).Truncate(time.Second)},
		{"ahead", entries(now.Add(30 * time.Second)), now.Truncate(time.Second)},
	} {
		if got := crlThisUpdate(c.l, now); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
