package authority

import (
	"crypto/x509"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

func issueCSR(t *testing.T, s *Service, r *Record, csr []byte, template string) (*Issued, error) {
	t.Helper()
	var out *Issued
	err := update(t, s, func(tx localstore.Tx) error {
		var err error
		out, err = s.IssueCSR(tx, r, CSRParams{CSR: csr, Template: template, Validity: timeutil.Validity{Duration: 90 * timeutil.Day}, Requester: "USER:test"})
		return err
	})
	return out, err
}

// TestIssueCSREndEntityRefusesCATrue: a CSR asking for CA:TRUE is refused
// by the EndEntity template (exit 4, naming it) rather than given a
// CA:FALSE certificate; the same request without it gets an end-entity
// certificate, and IssueLeaf never makes a CA certificate.
func TestIssueCSREndEntityRefusesCATrue(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "CSR Root", 0)
	key := ecKey(t)
	_, err := issueCSR(t, s, root, csrPEM(t, key, "evil.test", true), casign.TemplateEndEntity)
	wantCode(t, err, errs.ExitInvalid, "")
	if !strings.Contains(err.Error(), "basicConstraints CA:TRUE") {
		t.Fatalf("refusal %q does not name the CSR's CA:TRUE", err)
	}
	iss, err := issueCSR(t, s, root, csrPEM(t, key, "evil.test", false), casign.TemplateEndEntity)
	if err != nil {
		t.Fatal(err)
	}
	c := iss.Certificate
	if c.IsCA || !c.BasicConstraintsValid {
		t.Fatalf("EndEntity from a CA:TRUE CSR: IsCA=%v BasicConstraintsValid=%v", c.IsCA, c.BasicConstraintsValid)
	}
	if c.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Fatal("EndEntity certificate has keyCertSign")
	}
	if !slices.Equal(c.DNSNames, []string{"evil.test"}) {
		t.Fatalf("SANs %v", c.DNSNames)
	}
	leaf, err := issueLeaf(t, s, root, "c", "leaf.test")
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Certificate.IsCA || leaf.Certificate.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Fatal("IssueLeaf made a CA certificate")
	}
}

// TestRootCATemplateSelfSignsOnly: the RootCA template self-signs a ROOT
// CA's own key and refuses anyone else's CSR (which would otherwise become
// an unconstrained intermediate).
func TestRootCATemplateSelfSignsOnly(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "Self Root", 0)
	_, err := issueCSR(t, s, root, csrPEM(t, ecKey(t), "other.test", false), casign.TemplateRootCA)
	wantCode(t, err, errs.ExitInvalid, "")

	var own []byte
	mustUpdate(t, s, func(tx localstore.Tx) error {
		key, err := s.Vault.OpenKey(tx, root.KeyRef)
		if err != nil {
			return err
		}
		own = csrPEM(t, key, "Self Root", false)
		return nil
	})
	iss, err := issueCSR(t, s, root, own, casign.TemplateRootCA)
	if err != nil {
		t.Fatal(err)
	}
	c := iss.Certificate
	if !c.IsCA || c.CheckSignatureFrom(c) != nil || len(iss.Chain) != 0 {
		t.Fatalf("RootCA certificate: IsCA=%v self-signature=%v chain=%d", c.IsCA, c.CheckSignatureFrom(c), len(iss.Chain))
	}
}

// TestPathLenZeroCASignsNoCA: a CA whose certificate says pathlen:0 (as
// the SubordinateCA template makes) may issue leaves but no CA
// certificates, through ca create --parent or ca issue.
func TestPathLenZeroCASignsNoCA(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "PL Root", 0)
	ext := createCA(t, s, CreateRequest{Type: TypeSubordinate, External: true, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "PL Sub"}})
	if ext.Status != StatusPendingCertificate {
		t.Fatalf("external CA status %s", ext.Status)
	}
	iss, err := issueCSR(t, s, root, []byte(ext.CSRPEM), casign.TemplateSubordinateCA)
	if err != nil {
		t.Fatal(err)
	}
	if !iss.Certificate.MaxPathLenZero {
		t.Fatal("SubordinateCA template without pathlen:0")
	}
	chain := pemio.EncodeCertificatesPEM(iss.Chain...)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, ext.ID)
		if err != nil {
			return err
		}
		return s.ImportCertificate(tx, r, CertificateImport{Certificate: pemio.EncodeCertificatesPEM(iss.Certificate), Chain: chain})
	})
	sub := reload(t, s, ext.ID)
	if sub.Status != StatusActive {
		t.Fatalf("imported CA status %s", sub.Status)
	}
	if _, err := issueLeaf(t, s, sub, "c", "leaf.test"); err != nil {
		t.Fatalf("a pathlen:0 CA refused a leaf: %v", err)
	}
	_, err = issueCSR(t, s, sub, csrPEM(t, ecKey(t), "Deeper CA", false), casign.TemplateSubordinateCA)
	wantCode(t, err, errs.ExitRefused, "")
	err = update(t, s, func(tx localstore.Tx) error {
		_, err := s.Create(tx, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1,
			Subject: Subject{CommonName: "Deeper"}, ParentID: sub.ID, Validity: timeutil.Year})
		return err
	})
	wantCode(t, err, errs.ExitRefused, "")
}

// TestCRLKeepsRevokedSerials: a revoked, unexpired certificate is in every
// later CRL, whatever else is revoked in between, and CRL numbers grow.
func TestCRLKeepsRevokedSerials(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "CRL Root", 0)
	var serials []*big.Int
	for i := range 4 {
		iss, err := issueLeaf(t, s, root, "c", "crl.test")
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, iss.Certificate.SerialNumber)
		_ = i
	}
	var last *big.Int
	crl := func() *x509.RevocationList {
		t.Helper()
		var der []byte
		mustUpdate(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, root.ID)
			if err != nil {
				return err
			}
			der, err = s.CRL(tx, r)
			return err
		})
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := reload(t, s, root.ID).Certificate()
		if err := l.CheckSignatureFrom(cert); err != nil {
			t.Fatal(err)
		}
		if last != nil && l.Number.Cmp(last) <= 0 {
			t.Fatalf("CRL number %d not above the previous %d", l.Number, last)
		}
		last = l.Number
		return l
	}
	listed := func(l *x509.RevocationList) map[string]int {
		m := map[string]int{}
		for _, e := range l.RevokedCertificateEntries {
			m[e.SerialNumber.String()] = e.ReasonCode
		}
		return m
	}
	revoke := func(i, reason int) {
		t.Helper()
		clk.now = clk.now.Add(time.Minute)
		mustUpdate(t, s, func(tx localstore.Tx) error {
			return Revoke(tx, root.ID, x509util.FormatSerial(serials[i]), clk.now, reason)
		})
	}
	if n := len(crl().RevokedCertificateEntries); n != 0 {
		t.Fatalf("fresh CA's CRL lists %d entries", n)
	}
	revoke(0, 1)
	for round := range 3 {
		m := listed(crl())
		if m[serials[0].String()] != 1 {
			t.Fatalf("round %d: serial 0 missing or wrong reason: %v", round, m)
		}
		if round == 0 {
			revoke(2, 4)
		}
		if round == 1 && m[serials[2].String()] != 4 {
			t.Fatalf("round %d: serial 2 missing: %v", round, m)
		}
		if _, ok := m[serials[1].String()]; ok {
			t.Fatalf("round %d: unrevoked serial 1 listed", round)
		}
	}
	if m := listed(crl()); len(m) != 2 {
		t.Fatalf("final CRL lists %d entries, want 2", len(m))
	}
}

// TestIssueCSRNamesTheFile: a CSR that cannot be used is refused (exit 4)
// naming the file it came from, without a package prefix, whether parsing
// or the template found the problem; without a file name the message says
// what it is about.
func TestIssueCSRNamesTheFile(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "File Root", 0)
	for _, tc := range []struct {
		csr        []byte
		file, want string
	}{
		{nil, "e.csr", "e.csr: empty, not a PEM or DER PKCS #10 certificate signing request"},
		{[]byte("garbage"), "junk.csr", "junk.csr: not a PEM or DER PKCS #10 certificate signing request"},
		{[]byte("garbage"), "", "certificate signing request: not a PEM or DER PKCS #10 certificate signing request"},
		{csrPEM(t, ecKey(t), "", false), "blank.csr", "blank.csr: names: "},
	} {
		err := update(t, s, func(tx localstore.Tx) error {
			_, err := s.IssueCSR(tx, root, CSRParams{CSR: tc.csr, CSRFile: tc.file, Template: casign.TemplateEndEntity,
				Validity: timeutil.Validity{Duration: timeutil.Day}})
			return err
		})
		wantCode(t, err, errs.ExitInvalid, "")
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %q, want %q", err, tc.want)
		}
	}
}
