package authority

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
)

// importCert runs ImportCertificate on the CA id.
func importCert(t *testing.T, s *Service, id string, certPEM, chainPEM []byte) error {
	t.Helper()
	return update(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, id)
		if err != nil {
			return err
		}
		return s.ImportCertificate(tx, r, CertificateImport{Certificate: certPEM, Chain: chainPEM})
	})
}

// signWithKeyOf signs, as the CA signer, a CA certificate for the key of
// the CA subject under name, valid over v.
func signWithKeyOf(t *testing.T, s *Service, signer, subject *Record, name pkix.Name, v casign.Validity, isCA bool) []byte {
	t.Helper()
	var out []byte
	mustUpdate(t, s, func(tx localstore.Tx) error {
		key, err := s.caKey(tx, subject, nil)
		if err != nil {
			return err
		}
		pcert, pkey, err := s.signer(tx, signer)
		if err != nil {
			return err
		}
		tmpl := casign.SubordinateTemplate(name, key.Public(), big.NewInt(time.Now().UnixNano()), v, 0)
		if !isCA {
			tmpl.IsCA, tmpl.KeyUsage, tmpl.MaxPathLen, tmpl.MaxPathLenZero = false, x509.KeyUsageDigitalSignature, -1, false
		}
		cert, err := casign.Sign(tmpl, pcert, key.Public(), pkey)
		if err != nil {
			return err
		}
		out = pemio.EncodeCertificatesPEM(cert)
		return nil
	})
	return out
}

// TestRenewSubordinateInPlace renews an ACTIVE subordinate with a new
// certificate from its parent for its CSR: it keeps its ID, status, key and
// parent; the CAs below it chain to the new certificate, and what it issued
// before verifies under it. A certificate for its key under another subject,
// not a CA's, not valid now, or for another key is refused (exit 4); a
// PENDING-only or deleted status is refused (exit 5).
func TestRenewSubordinateInPlace(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Renew Root", 0)
	sub := createSub(t, s, "Renew Sub", root.ID, timeutil.Year)
	child := createSub(t, s, "Renew Child", sub.ID, 6*30*timeutil.Day)
	old, err := issueLeaf(t, s, sub, "", "old.example.test")
	if err != nil {
		t.Fatal(err)
	}

	var csr string
	if err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) error {
		var err error
		csr, err = s.CSR(tx, reload(t, s, sub.ID))
		return err
	}); err != nil {
		t.Fatalf("CSR of an ACTIVE CA: %v", err)
	}
	clk.now = clk.now.Add(30 * timeutil.Day)
	var renewed *Issued
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		renewed, err = s.IssueCSR(tx, reload(t, s, root.ID), CSRParams{CSR: []byte(csr), Template: casign.PCASubordinateCAPathLen1,
			Validity: timeutil.Validity{Duration: 2 * timeutil.Year}})
		return err
	})
	newPEM := pemio.EncodeCertificatesPEM(renewed.Certificate)

	// Refused, and nothing changes.
	was := reload(t, s, sub.ID)
	v := casign.Validity{NotBefore: clk.now.Add(-time.Hour), NotAfter: clk.now.Add(timeutil.Year)}
	other := signWithKeyOf(t, s, root, sub, pkix.Name{CommonName: "Another Name"}, v, true)
	err = importCert(t, s, sub.ID, other, nil)
	wantCode(t, err, errs.ExitInvalid, "")
	if !strings.Contains(err.Error(), "subject CN=Another Name is not certificate authority") {
		t.Errorf("another subject: %v", err)
	}
	notCA := signWithKeyOf(t, s, root, sub, pkix.Name{CommonName: "Renew Sub"}, v, false)
	wantCode(t, importCert(t, s, sub.ID, notCA, nil), errs.ExitInvalid, "")
	later := signWithKeyOf(t, s, root, sub, pkix.Name{CommonName: "Renew Sub"},
		casign.Validity{NotBefore: clk.now.Add(timeutil.Day), NotAfter: clk.now.Add(timeutil.Year)}, true)
	err = importCert(t, s, sub.ID, later, nil)
	wantCode(t, err, errs.ExitInvalid, "")
	if !strings.Contains(err.Error(), "not valid before") {
		t.Errorf("not yet valid: %v", err)
	}
	wantCode(t, importCert(t, s, sub.ID, []byte(root.CertificatePEM), nil), errs.ExitInvalid, "")
	if now := reload(t, s, sub.ID); now.CertificatePEM != was.CertificatePEM || now.Status != StatusActive {
		t.Fatalf("a refused import changed the CA")
	}

	if err := importCert(t, s, sub.ID, newPEM, nil); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	r := reload(t, s, sub.ID)
	if r.CertificatePEM != string(newPEM) || r.Status != StatusActive || r.KeyRef != was.KeyRef || r.ParentID != root.ID ||
		!r.NotAfter.Equal(renewed.Certificate.NotAfter) || r.ChainPEM != root.CertificatePEM || r.External {
		t.Fatalf("after renewal: %+v", r)
	}
	if c := reload(t, s, child.ID); c.ChainPEM != string(newPEM)+root.CertificatePEM {
		t.Errorf("the child's chain does not start with the renewed certificate")
	}
	roots := x509.NewCertPool()
	roots.AddCert(parse(t, root.CertificatePEM))
	inter := x509.NewCertPool()
	inter.AddCert(renewed.Certificate)
	if _, err := old.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: clk.now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("a leaf issued before does not verify under the renewed CA: %v", err)
	}
	leaf, err := issueLeaf(t, s, r, "", "new.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Chain[0].Equal(renewed.Certificate) {
		t.Errorf("a new leaf's chain starts with %s, not the renewed certificate", leaf.Chain[0].SerialNumber)
	}

	// A disabled CA renews and stays DISABLED; a deleted one is refused.
	if err := setStatus(t, s, sub.ID, StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if err := importCert(t, s, sub.ID, newPEM, nil); err != nil || reload(t, s, sub.ID).Status != StatusDisabled {
		t.Fatalf("DISABLED renewal: %v", err)
	}
	if err := deleteCA(t, s, sub.ID, 7); err != nil {
		t.Fatal(err)
	}
	wantCode(t, importCert(t, s, sub.ID, newPEM, nil), errs.ExitRefused, ReasonInvalidState)
}

// TestRenewRootSelfSigned renews a root with its own CSR signed by itself
// (RootCACertificate) for longer than its current certificate lasts, which
// bounds nothing; a certificate for its key that is not self-signed is
// refused (exit 4).
func TestRenewRootSelfSigned(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Self Root", timeutil.Year)
	var csr string
	if err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) error {
		var err error
		csr, err = s.CSR(tx, root)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var renewed *Issued
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		renewed, err = s.IssueCSR(tx, reload(t, s, root.ID), CSRParams{CSR: []byte(csr), Template: casign.TemplateRootCA,
			Validity: timeutil.Validity{Duration: 10 * timeutil.Year}})
		return err
	})
	if !renewed.Certificate.NotAfter.After(root.NotAfter) {
		t.Fatalf("renewed root ends %s, not after %s", renewed.Certificate.NotAfter, root.NotAfter)
	}
	other := createRoot(t, s, "Cross Root", 0)
	cross := signWithKeyOf(t, s, other, root, parse(t, root.CertificatePEM).Subject,
		casign.Validity{NotBefore: clk.now.Add(-time.Hour), NotAfter: clk.now.Add(timeutil.Day)}, true)
	err := importCert(t, s, root.ID, cross, nil)
	wantCode(t, err, errs.ExitInvalid, "")
	if !strings.Contains(err.Error(), "must be self-signed") {
		t.Errorf("cross-signed root: %v", err)
	}
	if err := importCert(t, s, root.ID, pemio.EncodeCertificatesPEM(renewed.Certificate), nil); err != nil {
		t.Fatal(err)
	}
	if r := reload(t, s, root.ID); !r.NotAfter.Equal(renewed.Certificate.NotAfter) || r.Type != TypeRoot || r.ChainPEM != "" || r.ParentID != "" {
		t.Fatalf("after renewal: %+v", r)
	}
}

// TestImportCertificatePendingParent activates an --external subordinate
// with a certificate a CA of the vault signed: without a chain, the chain
// comes from the vault, and the signer becomes its parent.
func TestImportCertificatePendingParent(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Vault Root", 0)
	ext := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: Subject{CommonName: "Ext Sub"}, External: true})
	var issued *Issued
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		issued, err = s.IssueCSR(tx, reload(t, s, root.ID), CSRParams{CSR: []byte(ext.CSRPEM), Template: casign.TemplateSubordinateCA,
			Validity: timeutil.Validity{Duration: timeutil.Year}})
		return err
	})
	if err := importCert(t, s, ext.ID, pemio.EncodeCertificatesPEM(issued.Certificate), nil); err != nil {
		t.Fatalf("import without a chain: %v", err)
	}
	r := reload(t, s, ext.ID)
	if r.Status != StatusActive || r.ParentID != root.ID || r.External || r.ChainPEM != root.CertificatePEM || r.CSRPEM != "" {
		t.Fatalf("after import: status %s parent %q external %v", r.Status, r.ParentID, r.External)
	}
}

func parse(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	certs, err := pemio.ParseCertificatesPEM([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// TestRenewKeepsLimits: a renewal keeps the limits relying parties read in
// the CA certificate (found by review: a constrained subordinate renewed
// with a plain template lost its critical name constraints, and pathlen
// could loosen). Its parent signing its CSR with a CA template now carries
// its name constraints; a certificate without them, one allowing a longer
// path, or one too short for the CAs below it is refused.
func TestRenewKeepsLimits(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Limits Root", 0)
	nc := &NameConstraints{Permitted: &Subtrees{DnsNames: []string{"corp.test"}}}
	sub := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: Subject{CommonName: "Limits Sub"}, ParentID: root.ID, Validity: timeutil.Year, NameConstraints: nc})
	csrOf := func(id string) string {
		var csr string
		if err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) (err error) {
			csr, err = s.CSR(tx, reload(t, s, id))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return csr
	}
	signBy := func(parent *Record, csr, template string) []byte {
		var out *Issued
		mustUpdate(t, s, func(tx localstore.Tx) (err error) {
			out, err = s.IssueCSR(tx, reload(t, s, parent.ID), CSRParams{CSR: []byte(csr), Template: template,
				Validity: timeutil.Validity{Duration: 180 * timeutil.Day}})
			return err
		})
		return pemio.EncodeCertificatesPEM(out.Certificate)
	}
	// Signed by its parent with a CA template: the constraints come along.
	renewed := signBy(root, csrOf(sub.ID), casign.PCASubordinateCAPathLen0)
	if err := importCert(t, s, sub.ID, renewed, nil); err != nil {
		t.Fatalf("renewal signed by the parent: %v", err)
	}
	c, err := reload(t, s, sub.ID).Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PermittedDNSDomains) != 1 || c.PermittedDNSDomains[0] != "corp.test" || !c.PermittedDNSDomainsCritical {
		t.Fatalf("renewed certificate's name constraints: %v (critical %v)", c.PermittedDNSDomains, c.PermittedDNSDomainsCritical)
	}
	// Now pathlen:0: a certificate allowing a longer path is refused.
	v := casign.Validity{NotBefore: clk.now.Add(-time.Hour), NotAfter: clk.now.Add(90 * timeutil.Day)}
	loose := signWithKeyOf(t, s, root, sub, pkix.Name{CommonName: "Limits Sub"}, v, true)
	err = importCert(t, s, sub.ID, loose, nil)
	wantCode(t, err, errs.ExitInvalid, "")
	if err == nil || !strings.Contains(err.Error(), "name constraints") && !strings.Contains(err.Error(), "longer path") {
		t.Errorf("a certificate without the constraints or with a longer path: %v", err)
	}
	// A CA with a CA below it cannot take pathlen:0.
	plain := createSub(t, s, "Plain Sub", root.ID, timeutil.Year)
	createSub(t, s, "Below Plain", plain.ID, 90*timeutil.Day)
	err = importCert(t, s, plain.ID, signBy(root, csrOf(plain.ID), casign.PCASubordinateCAPathLen0), nil)
	wantCode(t, err, errs.ExitInvalid, "")
	if err == nil || !strings.Contains(err.Error(), "1 level(s) below it") {
		t.Errorf("pathlen:0 for a CA with a CA below it: %v", err)
	}
	if err := importCert(t, s, plain.ID, signBy(root, csrOf(plain.ID), casign.PCASubordinateCAPathLen1), nil); err != nil {
		t.Errorf("pathlen:1 for a CA with a CA below it: %v", err)
	}
}
