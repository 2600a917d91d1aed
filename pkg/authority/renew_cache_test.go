package authority

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
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
	sub := createSub(t, s, "Renew Sub", root.ID, timeutil.Year)
	child := createSub(t, s, "Renew Child", sub.ID, 6*30*timeutil.Day)
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

// TestSignerRefusesAnotherKey (security tester, the class of export's
// key reference): a CA record whose key reference someone with database
// access pointed at another key sealed in the vault — another CA's — signs
// nothing with it: the vault is corrupt (localstore.ErrCorrupt: exit 6 at the command), named so.
func TestSignerRefusesAnotherKey(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	a := createRoot(t, s, "Root A", 0)
	b := createRoot(t, s, "Root B", 0)
	pointKeyRef(t, s, a.ID, b.KeyRef)
	_, err := issueLeaf(t, s, reload(t, s, a.ID), "", "a.example.test")
	if !errors.Is(err, localstore.ErrCorrupt) || !strings.Contains(err.Error(), "is not the key of its certificate") {
		t.Fatalf("issue from a CA whose key reference names another CA's key: %v , want the vault corrupt", err)
	}
	if _, err := issueLeaf(t, s, reload(t, s, b.ID), "", "b.example.test"); err != nil {
		t.Fatalf("the other CA: %v", err)
	}
}

// TestCSRRefusesAnotherKey (verification tester): ca csr of a CA whose
// key reference was pointed at another CA's key asks for no certificate
// of that key under this CA's name: the vault is corrupt.
func TestCSRRefusesAnotherKey(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	a := createRoot(t, s, "Root A", 0)
	b := createRoot(t, s, "Root B", 0)
	if err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) error { _, err := s.CSR(tx, reload(t, s, a.ID)); return err }); err != nil {
		t.Fatalf("ca csr of the untouched CA: %v", err)
	}
	pointKeyRef(t, s, a.ID, b.KeyRef)
	err := s.Vault.Store.View(t.Context(), func(tx localstore.Tx) error { _, err := s.CSR(tx, reload(t, s, a.ID)); return err })
	if !errors.Is(err, localstore.ErrCorrupt) || !strings.Contains(err.Error(), "is not the key of its certificate") {
		t.Fatalf("ca csr of a CA whose key reference names another CA's key: %v, want the vault corrupt", err)
	}
}

// pointKeyRef points CA id's key reference at ref, as someone with
// database access can.
func pointKeyRef(t *testing.T, s *Service, id, ref string) {
	t.Helper()
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, id)
		if err != nil {
			return err
		}
		r.KeyRef = ref
		return Put(tx, r)
	})
}

// TestSignerSeesItsKeyCompromisedLater (review): a CA whose signer a
// long-running process has cached signs nothing more once a certificate
// for the CA's own key is revoked for key compromise by a path that does
// not mark the CA's record (inventory.RevokeSerial: certctl revoke, an
// ACME revocation signed by the key) — the compromise is looked up at
// every signature, not once when the signer was loaded.
func TestSignerSeesItsKeyCompromisedLater(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	a := createRoot(t, s, "Root A", 0)
	if _, err := issueLeaf(t, s, reload(t, s, a.ID), "", "warm.example.test"); err != nil { // caches the signer
		t.Fatal(err)
	}
	caCert, err := a.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	// A certificate for A's key, signed by another CA (A refuses to sign
	// one for its own key: checkNotCAKey), revoked for key compromise.
	b := createRoot(t, s, "Root B", 0)
	var own *Issued
	mustUpdate(t, s, func(tx localstore.Tx) error {
		var err error
		own, err = s.IssueLeaf(tx, reload(t, s, b.ID), LeafParams{Names: []string{"leak.example.test"},
			PublicKey: caCert.PublicKey, Validity: 24 * time.Hour})
		return err
	})
	mustUpdate(t, s, func(tx localstore.Tx) error {
		return inventory.RevokeSerial(tx, b.ID, x509util.FormatSerial(own.Certificate.SerialNumber), clk.now, 1)
	})
	_, err = issueLeaf(t, s, reload(t, s, a.ID), "", "after.example.test")
	if errs.CodeNameOf(err) != inventory.ReasonKeyCompromised || !strings.Contains(err.Error(), "the key of certificate authority "+a.ID) {
		t.Fatalf("issue from the cached signer of a CA whose key was revoked for compromise: %v", err)
	}
}

// TestRestoreRebuildsChain (review: untested): a deleted CA whose stored
// chain is stale — as a vault from before deleted CAs were rechained
// keeps it — is restored with its chain from its parent as it is now.
func TestRestoreRebuildsChain(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Restore Root", 0)
	sub := createSub(t, s, "Restore Sub", root.ID, timeutil.Year)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, sub.ID)
		if err != nil {
			return err
		}
		r.Status = StatusDisabled
		if err := s.Delete(tx, r, 7); err != nil {
			return err
		}
		r, err = Get(tx, sub.ID)
		if err != nil {
			return err
		}
		r.ChainPEM = "" // stale
		return Put(tx, r)
	})
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.Restore(tx, reload(t, s, sub.ID)) })
	r, p := reload(t, s, sub.ID), reload(t, s, root.ID)
	if r.ChainPEM == "" || r.ChainPEM != p.CertificatePEM+p.ChainPEM {
		t.Errorf("restored CA's chain %q, want its parent's certificate and chain", r.ChainPEM)
	}
}
