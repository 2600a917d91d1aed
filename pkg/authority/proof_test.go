package authority

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
)

// TestCheckIssuedBy: a certificate of the CA passes; one the store says
// the CA issued is refused (ErrNotIssuedBy) when another CA signed it, when
// the CA's record was given that other CA's certificate (its sealed key
// does not match: final review, no test could fail the comparison), and
// when the CA has no key sealed under its own reference.
func TestCheckIssuedBy(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	a := createRoot(t, s, "CA A", 365*24*time.Hour)
	b := createRoot(t, s, "CA B", 365*24*time.Hour)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(r *Record, id string) *x509.Certificate {
		var is *Issued
		mustUpdate(t, s, func(tx localstore.Tx) (err error) {
			is, err = s.IssueLeaf(tx, r, LeafParams{CertID: id, Names: []string{"app.example.test"}, PublicKey: key.Public(), Validity: 24 * time.Hour})
			return err
		})
		return is.Certificate
	}
	genuine, forged := issue(a, "c1"), issue(b, "c2")
	check := func(caID string, leaf *x509.Certificate) error {
		var cerr error
		mustUpdate(t, s, func(tx localstore.Tx) error {
			cerr = s.CheckIssuedBy(tx, caID, leaf)
			return nil
		})
		return cerr
	}
	if err := check(a.ID, genuine); err != nil {
		t.Fatalf("the CA's own certificate: %v", err)
	}
	refused := func(name string, err error, want string) {
		t.Helper()
		if !errors.Is(err, ErrNotIssuedBy) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrNotIssuedBy saying %q", name, err, want)
		}
	}
	refused("signed by another CA", check(a.ID, forged), "does not verify")

	// B's certificate written into A's record: the forged certificate
	// verifies against it, but A's sealed key is not B's.
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, a.ID)
		if err != nil {
			return err
		}
		bCert, err := b.Certificate()
		if err != nil {
			return err
		}
		c := *r
		c.CertificatePEM = string(pemio.EncodeCertificatesPEM(bCert))
		return Put(tx, &c)
	})
	refused("another CA's certificate in the record", check(a.ID, forged), "does not hold the key sealed under ca/"+a.ID+"/key")

	// A record with nothing sealed under its own reference.
	mustUpdate(t, s, func(tx localstore.Tx) error {
		c := *b
		c.ID = "00000000-0000-4000-8000-000000000000"
		return Put(tx, &c)
	})
	refused("no sealed key", check("00000000-0000-4000-8000-000000000000", forged), "is not sealed in the vault")
}
