package authorities

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
)

// noticeOf is the one non-empty notice of res ("" when none).
func noticeOf(t *testing.T, res *CAChange) string {
	t.Helper()
	var out []string
	for _, n := range res.Notices {
		if n != "" {
			out = append(out, n)
		}
	}
	if len(out) > 1 {
		t.Fatalf("notices %q", out)
	}
	return strings.Join(out, "")
}

// ca import and ca import-certificate of a certificate whose Key Usage
// lacks cRLSign (mkcert's roots) say that the CA cannot sign CRLs; of any
// other CA, nothing.
func TestImportNoticesNoCRLSign(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t)
	now := s.core.Now()
	key := testpki.ECKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mkcert-like"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	mk, _ := x509.ParseCertificate(der)
	res, err := s.Import(ctx, ImportRequest{Material: inventory.RawMaterial{CertificatePEM: testpki.CertPEM(mk), PrivateKeyPEM: testpki.KeyPEM(key)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := noticeOf(t, res); !strings.Contains(n, "cannot sign CRLs") || !strings.Contains(n, idOf(res.Arn)) {
		t.Errorf("ca import notice %q", n)
	}
	plain := testpki.NewRoot("Plain Root", now)
	res, err = s.Import(ctx, ImportRequest{Material: inventory.RawMaterial{CertificatePEM: testpki.CertPEM(plain.Cert), PrivateKeyPEM: testpki.KeyPEM(plain.Key)}})
	if err != nil || noticeOf(t, res) != "" {
		t.Errorf("plain import: %v, notices %q", err, res.Notices)
	}

	// An external subordinate that mkcert's root signs, Key Usage
	// keyCertSign alone.
	ext, csr := externalCA(t, s, "Ext")
	subTmpl := &x509.Certificate{SerialNumber: big.NewInt(8), Subject: csr.Subject, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 6, 0),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign}
	subDER, err := x509.CreateCertificate(rand.Reader, subTmpl, mk, csr.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := x509.ParseCertificate(subDER)
	res, err = s.ImportCertificate(ctx, ext, authority.CertificateImport{Certificate: testpki.CertPEM(sub), Chain: testpki.CertPEM(mk)})
	if err != nil {
		t.Fatal(err)
	}
	if n := noticeOf(t, res); !strings.Contains(n, "cannot sign CRLs") {
		t.Errorf("ca import-certificate notice %q", n)
	}
}
