package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// testNames are the default region and account, the ones the tests' ARNs
// name.
var testNames = inventory.Names{Region: "local", Account: "000000000000"}

// testClock is a settable clock.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

// newTestService opens a fresh vault in a temporary directory and returns a
// service over it whose clock is clk.
func newTestService(t *testing.T, clk *testClock) *Service {
	t.Helper()
	v, err := localstore.Open(context.Background(), t.TempDir(), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return New(v, clk.Now, "")
}

func newClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

// update runs fn in a write transaction and fails the test on a store error
// other than what fn returns.
func update(t *testing.T, s *Service, fn func(tx localstore.Tx) error) error {
	t.Helper()
	return s.Vault.Store.Update(context.Background(), fn)
}

func mustUpdate(t *testing.T, s *Service, fn func(tx localstore.Tx) error) {
	t.Helper()
	if err := update(t, s, fn); err != nil {
		t.Fatal(err)
	}
}

// createCA creates a CA and returns its record.
func createCA(t *testing.T, s *Service, req CreateRequest) *Record {
	t.Helper()
	var r *Record
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		r, err = s.Create(tx, req)
		return err
	})
	return r
}

func createRoot(t *testing.T, s *Service, cn string, validity time.Duration) *Record {
	t.Helper()
	return createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: cn}, Validity: validity})
}

// createSub creates a P-256 subordinate CA named cn under parent, valid
// for validity.
func createSub(t *testing.T, s *Service, cn, parent string, validity time.Duration) *Record {
	t.Helper()
	return createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: cn}, ParentID: parent, Validity: validity})
}

// reload reads r again.
func reload(t *testing.T, s *Service, id string) *Record {
	t.Helper()
	var r *Record
	if err := s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		r, err = Get(tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issueLeaf issues a leaf for name from r.
func issueLeaf(t *testing.T, s *Service, r *Record, certID, name string) (*Issued, error) {
	t.Helper()
	var out *Issued
	err := update(t, s, func(tx localstore.Tx) error {
		var err error
		out, err = s.IssueLeaf(tx, r, LeafParams{CertID: certID, Names: []string{name},
			PublicKey: ecKey(t).Public(), Validity: 30 * 24 * time.Hour, ClientAuth: true})
		return err
	})
	return out, err
}

// csrPEM makes a CSR for key, asking for basicConstraints CA:TRUE when caTrue.
func csrPEM(t *testing.T, key crypto.Signer, cn string, caTrue bool) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}
	if !strings.Contains(cn, " ") { // a CA's name ("Self Root") is no DNS name
		tmpl.DNSNames = []string{cn}
	}
	if caTrue {
		val, err := asn1.Marshal(struct {
			IsCA bool `asn1:"optional"`
		}{true})
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: val}}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// wantCode checks that err is an *errs.Error with exit code exit and, when
// code is not empty, machine-readable code code.
func wantCode(t *testing.T, err error, exit errs.ExitCode, code string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Exit != exit || (code != "" && e.Code != code) {
		t.Fatalf("error %q: exit %d code %q, want exit %d code %q", e, e.Exit, e.Code, exit, code)
	}
}
