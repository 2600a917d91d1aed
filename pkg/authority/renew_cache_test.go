package authority

import (
	"bytes"
	"testing"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
)

// TestChildChainAfterParentRenewal: renewing a CA in place rewrites the
// stored chains of the CAs below it; a process that issued from one of
// them before (its signer cached) gives the new parent certificate after,
// not the old one (found by review), and so does the chain's PEM, which
// the signer's cache keeps with it.
func TestChildChainAfterParentRenewal(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Renew Root", 0)
	sub := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: Subject{CommonName: "Renew Sub"}, ParentID: root.ID, Validity: timeutil.Year})
	child := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
		Subject: Subject{CommonName: "Renew Child"}, ParentID: sub.ID, Validity: 6 * 30 * timeutil.Day})
	before, err := issueLeaf(t, s, reload(t, s, child.ID), "", "a.example.test") // warms the signer cache
	if err != nil {
		t.Fatal(err)
	}
	wantChainPEM(t, before)
	var csr string
	if err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) error { var err error; csr, err = s.CSR(tx, reload(t, s, sub.ID)); return err }); err != nil {
		t.Fatal(err)
	}
	var renewed *Issued
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		renewed, err = s.IssueCSR(tx, reload(t, s, root.ID), CSRParams{CSR: []byte(csr), Template: casign.PCASubordinateCAPathLen1,
			Validity: timeutil.Validity{Duration: 2 * timeutil.Year}})
		return err
	})
	if err := importCert(t, s, sub.ID, pemio.EncodeCertificatesPEM(renewed.Certificate), nil); err != nil {
		t.Fatal(err)
	}
	leaf, err := issueLeaf(t, s, reload(t, s, child.ID), "", "b.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf.Chain[1].Raw, renewed.Certificate.Raw) {
		t.Errorf("leaf issued by the child after its parent's renewal carries the parent's old certificate in its chain (stored chain updated, cached one not)")
	}
	wantChainPEM(t, leaf)
	if again, err := issueLeaf(t, s, reload(t, s, child.ID), "", "c.example.test"); err != nil {
		t.Fatal(err)
	} else {
		wantChainPEM(t, again)
	}
}

// wantChainPEM fails t unless iss.ChainPEM is iss.Chain in PEM.
func wantChainPEM(t *testing.T, iss *Issued) {
	t.Helper()
	if want := pemio.EncodeCertificatesPEM(iss.Chain...); len(iss.Chain) != 3 || !bytes.Equal(iss.ChainPEM, want) {
		t.Errorf("ChainPEM of a chain of %d certificates:\n%s\nwant:\n%s", len(iss.Chain), iss.ChainPEM, want)
	}
}
