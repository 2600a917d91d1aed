package authority

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

func importCA(t *testing.T, s *Service, req ImportCARequest) (*Record, bool, error) {
	t.Helper()
	var r *Record
	var created bool
	err := update(t, s, func(tx localstore.Tx) error {
		var err error
		r, created, err = s.ImportCA(tx, req)
		return err
	})
	return r, created, err
}

// An existing root comes in ACTIVE with its key sealed, issues leaves that
// verify against it, and is not imported twice.
func TestImportCARoot(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := testpki.NewRoot("Outside Root", clk.now)
	r, created, err := importCA(t, s, ImportCARequest{Certificate: root.Cert, Key: root.Key})
	if err != nil || !created {
		t.Fatalf("import: %v, created %v", err, created)
	}
	if r.Type != TypeRoot || r.Status != StatusActive || r.External || r.Subject.CommonName != "Outside Root" || r.KeyAlgorithm != "EC_prime256v1" {
		t.Fatalf("record %+v", r)
	}
	issued, err := issueLeaf(t, s, reload(t, s, r.ID), "c1", "app.outside.test")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	if _, err := issued.Certificate.Verify(x509.VerifyOptions{Roots: roots, DNSName: "app.outside.test", CurrentTime: clk.now}); err != nil {
		t.Errorf("leaf does not verify against the imported root: %v", err)
	}
	again, created, err := importCA(t, s, ImportCARequest{Certificate: root.Cert, Key: root.Key})
	if err != nil || created || again.ID != r.ID {
		t.Errorf("again: %v, created %v, id %s want %s", err, created, again.ID, r.ID)
	}
}

// A subordinate needs its chain, and becomes an External SUBORDINATE.
func TestImportCASubordinate(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := testpki.NewRoot("Outside Root", clk.now)
	sub := root.Sub("Outside Issuing")
	if _, _, err := importCA(t, s, ImportCARequest{Certificate: sub.Cert, Key: sub.Key}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("without a chain: %v, want exit 4", err)
	}
	other := testpki.NewRoot("Other Root", clk.now)
	if _, _, err := importCA(t, s, ImportCARequest{Certificate: sub.Cert, Key: sub.Key, Chain: []*x509.Certificate{other.Cert}}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("with a chain it does not verify against: %v, want exit 4", err)
	}
	r, created, err := importCA(t, s, ImportCARequest{Certificate: sub.Cert, Key: sub.Key, Chain: []*x509.Certificate{root.Cert}})
	if err != nil || !created || r.Type != TypeSubordinate || !r.External {
		t.Fatalf("with its chain: %+v, %v", r, err)
	}
	issued, err := issueLeaf(t, s, reload(t, s, r.ID), "c2", "x.outside.test")
	if err != nil || len(issued.Chain) != 2 {
		t.Fatalf("issue: %v, chain %d", err, len(issued.Chain))
	}
}

// Not a CA, a key that is not the certificate's, an expired CA and a weak
// key are refused as invalid input.
func TestImportCARefusals(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := testpki.NewRoot("Outside Root", clk.now)
	leaf, leafKey := root.Leaf(testpki.LeafOptions{})
	weakKey := testpki.RSAKey(1024)
	weak := selfSigned(t, weakKey, "Weak Root", clk.now, clk.now.Add(24*time.Hour))
	expiredKey := testpki.ECKey()
	expired := selfSigned(t, expiredKey, "Old Root", clk.now.Add(-48*time.Hour), clk.now.Add(-24*time.Hour))
	for name, req := range map[string]ImportCARequest{
		"not a CA":     {Certificate: leaf, Key: leafKey},
		"key mismatch": {Certificate: root.Cert, Key: testpki.ECKey()},
		"no key":       {Certificate: root.Cert},
		"expired":      {Certificate: expired, Key: expiredKey},
		"RSA 1024":     {Certificate: weak, Key: weakKey},
	} {
		if _, _, err := importCA(t, s, req); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("%s: %v, want exit 4", name, err)
		}
	}
	var all []*Record
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		all, err = List(tx)
		return err
	})
	if len(all) != 0 {
		t.Errorf("%d CAs recorded after refusals", len(all))
	}
}

// A name outside the CA's name constraints is DOMAIN_NOT_ALLOWED.
func TestIssueLeafNameConstraints(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	key := testpki.ECKey()
	tmpl := caTemplate("Corp Root", clk.now.Add(-time.Hour), clk.now.Add(10*365*24*time.Hour))
	tmpl.PermittedDNSDomains = []string{"corp.test"}
	tmpl.PermittedDNSDomainsCritical = true
	cert := testpki.Must(x509.ParseCertificate(testpki.Must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))))
	r, _, err := importCA(t, s, ImportCARequest{Certificate: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := issueLeaf(t, s, r, "in", "www.corp.test"); err != nil {
		t.Fatalf("inside: %v", err)
	}
	_, err = issueLeaf(t, s, r, "out", "www.elsewhere.test")
	wantCode(t, err, errs.ExitRefused, ReasonDomainNotAllowed)
}

func caTemplate(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

func selfSigned(t *testing.T, key crypto.Signer, cn string, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := caTemplate(cn, notBefore, notAfter)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return testpki.Must(x509.ParseCertificate(der))
}
