package authority

import (
	"crypto/x509"
	"testing"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestImportCA: an existing root and its subordinate come in as ACTIVE
// CAs of the right type (the subordinate's parent found in the vault, its
// chain supplied from it), issue, and a leaf or a CA already there is
// refused.
func TestImportCA(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := testpki.NewRoot("Outside Root", clk.now)
	sub := root.Sub("Outside Sub")
	leaf, leafKey := sub.Leaf(testpki.LeafOptions{Names: []string{"leaf.outside.test"}, NotAfter: clk.now.AddDate(0, 1, 0)})
	imp := func(m *inventory.Material) (*Record, error) {
		var r *Record
		err := update(t, s, func(tx localstore.Tx) error {
			var err error
			r, err = s.Import(tx, m, nil)
			return err
		})
		return r, err
	}
	rr, err := imp(&inventory.Material{Leaf: root.Cert, Key: root.Key})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Type != TypeRoot || rr.Status != StatusActive || rr.Subject.CommonName != "Outside Root" || rr.ChainPEM != "" {
		t.Errorf("root: %+v", rr)
	}
	sr, err := imp(&inventory.Material{Leaf: sub.Cert, Key: sub.Key})
	if err != nil {
		t.Fatal(err)
	}
	if sr.Type != TypeSubordinate || sr.ParentID != rr.ID || sr.ChainPEM != rr.CertificatePEM {
		t.Errorf("subordinate: type %s parent %s (want %s), chain %q", sr.Type, sr.ParentID, rr.ID, sr.ChainPEM)
	}
	iss, err := issueLeaf(t, s, reload(t, s, sr.ID), "c1", "new.outside.test")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	inter := x509.NewCertPool()
	inter.AddCert(sub.Cert)
	if _, err := iss.Certificate.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: clk.now}); err != nil {
		t.Errorf("a leaf of the imported subordinate does not verify: %v", err)
	}
	if _, err := imp(&inventory.Material{Leaf: leaf, Key: leafKey}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("a leaf certificate: %v, want exit 4", err)
	}
	if _, err := imp(&inventory.Material{Leaf: root.Cert, Key: root.Key}); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("the same root again: %v, want exit 5", err)
	}
	if _, err := imp(&inventory.Material{Leaf: root.Cert, Key: root.Key, Chain: []*x509.Certificate{sub.Cert}}); err == nil {
		t.Error("a root with a chain was accepted")
	}
}
