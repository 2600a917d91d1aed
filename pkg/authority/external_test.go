package authority

import (
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestExternalCAWithinItsChain (tester): an --external CA whose CSR an
// issuer outside the vault signed
//   - under another subject than the CSR's is refused (exit 4), naming
//     both, instead of a CA described under a name no certificate bears;
//   - to outlive that issuer issues nothing past the issuer's NotAfter
//     (exit 5, PCA_INVALID_DURATION, naming the issuer), since nothing
//     would verify after it, and a subordinate under it by default ends
//     before it too.
func TestExternalCAWithinItsChain(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	now := clk.Now()
	root := testpki.NewRootUntil("Outside Root", now, now.Add(20*timeutil.Day))
	ext := createCA(t, s, CreateRequest{Type: TypeSubordinate, External: true, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Requested Name"}})
	csr, err := casign.ParseCSR([]byte(ext.CSRPEM))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(subject *pkix.Name) []byte {
		return pemio.EncodeCertificatesPEM(root.SignCACSR(csr, subject, now.Add(1000*timeutil.Day)))
	}
	importCert := func(certPEM []byte) error {
		return update(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, ext.ID)
			if err != nil {
				return err
			}
			return s.ImportCertificate(tx, r, CertificateImport{Certificate: certPEM, Chain: pemio.EncodeCertificatesPEM(root.Cert)})
		})
	}
	err = importCert(sign(&pkix.Name{CommonName: "Other Name"}))
	wantCode(t, err, errs.ExitInvalid, "")
	if msg := err.Error(); !strings.Contains(msg, "CN=Other Name") || !strings.Contains(msg, "CN=Requested Name") {
		t.Errorf("refusal %q names not both subjects", msg)
	}
	if r := reload(t, s, ext.ID); r.Status != StatusPendingCertificate {
		t.Fatalf("after the refusal the CA is %s", r.Status)
	}
	if err := importCert(sign(nil)); err != nil {
		t.Fatalf("the CSR signed as it is: %v", err)
	}
	sub := reload(t, s, ext.ID)
	if end, by := sub.IssueEnd(); !end.Equal(root.Cert.NotAfter.UTC()) || !strings.Contains(by, "CN=Outside Root") {
		t.Fatalf("IssueEnd = %s, %q; want the outside root's %s", end, by, root.Cert.NotAfter)
	}

	_, err = issueLeaf(t, s, sub, "c", "leaf.test") // 30 days, past the root's 20
	wantCode(t, err, errs.ExitRefused, ReasonInvalidDuration)
	if !strings.Contains(err.Error(), "CN=Outside Root") {
		t.Errorf("refusal %q does not name the issuer that expires first", err)
	}
	_, err = issueCSR(t, s, sub, csrPEM(t, ecKey(t), "app.test", false), casign.TemplateEndEntity) // 90 days
	wantCode(t, err, errs.ExitRefused, ReasonInvalidDuration)
	if _, err := s.LeafValidity(sub, 10*timeutil.Day); err != nil {
		t.Fatalf("10 days within the root's 20: %v", err)
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		_, err := s.IssueLeaf(tx, sub, LeafParams{CertID: "d", Names: []string{"ok.test"}, PublicKey: ecKey(t).Public(), Validity: 10 * timeutil.Day})
		return err
	})
}

// TestExpiredRootRenewsItself (tester): a ROOT whose certificate expired
// signs nothing but its own next certificate (RootCACertificate from its
// own CSR), which renews it in place; an expired subordinate signs not
// even that.
func TestExpiredRootRenewsItself(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Old Root", 30*timeutil.Day)
	sub := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Old Sub"}, ParentID: root.ID, Validity: 20 * timeutil.Day})
	clk.now = clk.now.Add(31 * timeutil.Day)
	root = reload(t, s, root.ID)
	var own []byte
	mustUpdate(t, s, func(tx localstore.Tx) error {
		key, err := s.Vault.OpenKey(tx, root.KeyRef)
		if err == nil {
			own = csrPEM(t, key, "Old Root", true)
		}
		return err
	})
	_, err := issueCSR(t, s, root, csrPEM(t, ecKey(t), "leaf.test", false), casign.TemplateEndEntity)
	wantCode(t, err, errs.ExitRefused, "")
	if !strings.Contains(err.Error(), "EXPIRED") {
		t.Errorf("refusal %q does not say EXPIRED", err)
	}
	var e *errs.Error
	if errors.As(err, &e); e == nil || !strings.Contains(e.Hint, "--template RootCACertificate") {
		t.Errorf("hint %q does not say how to renew the root", e.Hint)
	}
	iss, err := issueCSR(t, s, root, own, casign.TemplateRootCA)
	if err != nil {
		t.Fatalf("an expired root signing its own CSR: %v", err)
	}
	if !iss.Certificate.NotAfter.After(clk.now) || iss.Certificate.CheckSignatureFrom(iss.Certificate) != nil {
		t.Fatalf("renewal NotAfter %s, self-signature %v", iss.Certificate.NotAfter, iss.Certificate.CheckSignatureFrom(iss.Certificate))
	}
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, root.ID)
		if err != nil {
			return err
		}
		return s.ImportCertificate(tx, r, CertificateImport{Certificate: pemio.EncodeCertificatesPEM(iss.Certificate)})
	})
	if _, err := issueLeaf(t, s, reload(t, s, root.ID), "c", "after.test"); err != nil {
		t.Fatalf("the renewed root: %v", err)
	}
	// An expired subordinate: its parent renews it, not itself.
	_, err = issueCSR(t, s, reload(t, s, sub.ID), csrPEM(t, ecKey(t), "x.test", false), casign.TemplateRootCA)
	wantCode(t, err, errs.ExitRefused, "")
}
