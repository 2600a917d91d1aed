package authority

import (
	"bytes"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestOCSPSameKeyAndSubjectTwoCAs: a re-issued root (same key and subject,
// new validity) imported next to the original is a second CA of the vault
// with the same CertID issuer hashes. The responder answers each serial
// from the CA that issued it: a revoked leaf of either CA is revoked, a
// live one good, and a serial neither issued unknown, whichever of the two
// certificates the client names as issuer.
func TestOCSPSameKeyAndSubjectTwoCAs(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	key := ecKey(t)
	c1 := selfSigned(t, key, "Shared Root", clk.now.Add(-time.Hour), clk.now.AddDate(1, 0, 0))
	c2 := selfSigned(t, key, "Shared Root", clk.now.Add(-time.Minute), clk.now.AddDate(2, 0, 0))
	r1, created1, err1 := importCA(t, s, ImportCARequest{Certificate: c1, Key: key})
	r2, created2, err2 := importCA(t, s, ImportCARequest{Certificate: c2, Key: key})
	if err1 != nil || err2 != nil || !created1 || !created2 {
		t.Fatalf("imports: %v %v created %v %v", err1, err2, created1, created2)
	}
	h := casign.NewResponder(s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(t.Context(), fn) }, nil, nil), clk.Now, nil)
	ask := func(leaf, issuer *x509.Certificate) *ocsp.Response {
		t.Helper()
		req, err := ocsp.CreateRequest(leaf, issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(req)))
		resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), leaf, issuer)
		if err != nil {
			t.Fatalf("leaf %x: %v", leaf.SerialNumber, err)
		}
		return resp
	}
	for _, ca := range []struct {
		r    *Record
		cert *x509.Certificate
	}{{r1, c1}, {r2, c2}} {
		revoked, err := issueLeaf(t, s, reload(t, s, ca.r.ID), "revoked-"+ca.r.ID, "x.test")
		if err != nil {
			t.Fatal(err)
		}
		good, err := issueLeaf(t, s, reload(t, s, ca.r.ID), "good-"+ca.r.ID, "y.test")
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, s, func(tx localstore.Tx) error {
			return Revoke(tx, ca.r.ID, x509util.FormatSerial(revoked.Certificate.SerialNumber), clk.now.Add(-time.Minute), 1)
		})
		for _, issuer := range []*x509.Certificate{c1, c2} {
			if resp := ask(revoked.Certificate, issuer); resp.Status != ocsp.Revoked || resp.RevocationReason != 1 {
				t.Errorf("revoked leaf of CA %s: OCSP status %d reason %d (0 good, 1 revoked, 2 unknown), want revoked", ca.r.ID, resp.Status, resp.RevocationReason)
			}
			if resp := ask(good.Certificate, issuer); resp.Status != ocsp.Good {
				t.Errorf("live leaf of CA %s: OCSP status %d, want good", ca.r.ID, resp.Status)
			}
		}
	}
	// A serial neither CA issued is unknown.
	stranger := *c1
	stranger.SerialNumber = big.NewInt(0x5eed5eed)
	if resp := ask(&stranger, c2); resp.Status != ocsp.Unknown {
		t.Errorf("serial of neither CA: OCSP status %d, want unknown", resp.Status)
	}
}

// TestOCSPDeletedCA: a DELETED CA's revocations stay answered within its
// restore window — its certificates chain as before — and the responder
// speaks no more for it once it is permanently deleted.
func TestOCSPDeletedCA(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1, Subject: Subject{CommonName: "Deleted Root"}})
	leaf, err := issueLeaf(t, s, reload(t, s, root.ID), "compromised", "x.test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := issueLeaf(t, s, reload(t, s, root.ID), "other", "y.test")
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		return Revoke(tx, root.ID, x509util.FormatSerial(leaf.Certificate.SerialNumber), clk.now.Add(-time.Minute), ocsp.KeyCompromise)
	})
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r := reload(t, s, root.ID)
		if err := s.UpdateStatus(tx, r, StatusDisabled); err != nil {
			return err
		}
		return s.Delete(tx, r, 7)
	})
	rootCert := leaf.Chain[len(leaf.Chain)-1]
	h := casign.NewResponder(s.NewLookup(func(fn func(localstore.Tx) error) error { return s.Vault.Store.View(t.Context(), fn) }, nil, nil), clk.Now, nil)
	ask := func(l *Issued) (*ocsp.Response, error) {
		req, err := ocsp.CreateRequest(l.Certificate, rootCert, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(req)))
		return ocsp.ParseResponseForCert(w.Body.Bytes(), l.Certificate, rootCert)
	}
	if resp, err := ask(leaf); err != nil || resp.Status != ocsp.Revoked || resp.RevocationReason != ocsp.KeyCompromise {
		t.Fatalf("revoked leaf of a DELETED CA within its window: %+v, %v; want revoked (keyCompromise)", resp, err)
	}
	// Its certificates can still be revoked, and the revocation is
	// published: in its CRL and by OCSP.
	mustUpdate(t, s, func(tx localstore.Tx) error {
		return Revoke(tx, root.ID, x509util.FormatSerial(other.Certificate.SerialNumber), clk.now, ocsp.Superseded)
	})
	if resp, err := ask(other); err != nil || resp.Status != ocsp.Revoked {
		t.Fatalf("leaf revoked after its CA was DELETED: %+v, %v; want revoked", resp, err)
	}
	var der []byte
	mustUpdate(t, s, func(tx localstore.Tx) (err error) {
		der, err = s.CRL(tx, reload(t, s, root.ID))
		return err
	})
	crl, err := x509.ParseRevocationList(der)
	if err != nil || len(crl.RevokedCertificateEntries) != 2 {
		t.Fatalf("CRL of the DELETED CA: %v, %v; want both revocations", crl, err)
	}
	clk.now = clk.now.Add(8 * 24 * time.Hour)
	var re ocsp.ResponseError
	if _, err := ask(leaf); !errors.As(err, &re) || re.Status != ocsp.Unauthorized {
		t.Fatalf("leaf of a permanently deleted CA: %v, want unauthorized", err)
	}
}
