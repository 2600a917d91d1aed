package authority

import (
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

func setStatus(t *testing.T, s *Service, id, status string) error {
	t.Helper()
	return update(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, id)
		if err != nil {
			return err
		}
		return s.UpdateStatus(tx, r, status)
	})
}

func deleteCA(t *testing.T, s *Service, id string, days int) error {
	t.Helper()
	return update(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, id)
		if err != nil {
			return err
		}
		return s.Delete(tx, r, days)
	})
}

func restoreCA(t *testing.T, s *Service, id string) error {
	t.Helper()
	return update(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, id)
		if err != nil {
			return err
		}
		return s.Restore(tx, r)
	})
}

// TestDeleteRestoreWindow walks a CA through delete and restore with an
// injected clock: an ACTIVE CA refuses deletion, a disabled one is DELETED
// with RestorableUntil = deletion + days, restore inside the window brings
// back DISABLED, and after the window restore is refused (exit 5).
func TestDeleteRestoreWindow(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root := createRoot(t, s, "Lifecycle Root", 0)

	wantCode(t, deleteCA(t, s, root.ID, 7), errs.ExitRefused, ReasonInvalidState)
	if err := setStatus(t, s, root.ID, StatusDisabled); err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(time.Hour)
	if err := deleteCA(t, s, root.ID, 7); err != nil {
		t.Fatal(err)
	}
	r := reload(t, s, root.ID)
	if r.Status != StatusDeleted || !r.RestorableUntil.Equal(clk.now.Add(7*timeutil.Day)) {
		t.Fatalf("after delete: status %s restorable until %s", r.Status, r.RestorableUntil)
	}
	wantCode(t, deleteCA(t, s, root.ID, 7), errs.ExitRefused, ReasonInvalidState)

	// Inside the window (one second before its end): restored to DISABLED.
	clk.now = r.RestorableUntil.Add(-time.Second)
	if err := restoreCA(t, s, root.ID); err != nil {
		t.Fatal(err)
	}
	r = reload(t, s, root.ID)
	if r.Status != StatusDisabled || !r.RestorableUntil.IsZero() {
		t.Fatalf("after restore: status %s restorable until %s", r.Status, r.RestorableUntil)
	}
	wantCode(t, restoreCA(t, s, root.ID), errs.ExitRefused, ReasonInvalidState)

	// Delete again and let the window pass.
	if err := deleteCA(t, s, root.ID, 7); err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(7*timeutil.Day + time.Second)
	wantCode(t, restoreCA(t, s, root.ID), errs.ExitRefused, ReasonInvalidState)
	if r = reload(t, s, root.ID); r.Status != StatusDeleted {
		t.Fatalf("a refused restore changed the status to %s", r.Status)
	}
}

// TestIssuanceStateRules: a DISABLED CA refuses with PCA_INVALID_STATE, a
// validity beyond the CA with PCA_INVALID_DURATION; both exit 5.
func TestIssuanceStateRules(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	short := createRoot(t, s, "Short Root", 20*timeutil.Day)
	if _, err := issueLeaf(t, s, short, "c1", "ok.test"); err == nil {
		t.Fatal("a 30-day leaf from a 20-day CA was issued; want PCA_INVALID_DURATION")
	} else {
		wantCode(t, err, errs.ExitRefused, ReasonInvalidDuration)
	}
	err := update(t, s, func(tx localstore.Tx) error {
		_, err := s.IssueLeaf(tx, short, LeafParams{CertID: "c2", Names: []string{"ok.test"},
			PublicKey: ecKey(t).Public(), Validity: 20 * timeutil.Day})
		return err
	})
	if err != nil {
		t.Fatalf("a leaf ending with its 20-day CA: %v", err)
	}

	if err := setStatus(t, s, short.ID, StatusDisabled); err != nil {
		t.Fatal(err)
	}
	_, err = issueLeaf(t, s, reload(t, s, short.ID), "c3", "ok.test")
	wantCode(t, err, errs.ExitRefused, ReasonInvalidState)

	// A subordinate may not outlive its parent either.
	err = update(t, s, func(tx localstore.Tx) error {
		_, err := s.Create(tx, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: "EC_prime256v1",
			Subject: Subject{CommonName: "Too Long"}, ParentID: short.ID, Validity: timeutil.Year})
		return err
	})
	wantCode(t, err, errs.ExitRefused, "")

	// An expired CA is EXPIRED and refuses too.
	if err := setStatus(t, s, short.ID, StatusActive); err != nil {
		t.Fatal(err)
	}
	clk.now = clk.now.Add(21 * timeutil.Day)
	r := reload(t, s, short.ID)
	if st := r.EffectiveStatus(clk.now); st != StatusExpired {
		t.Fatalf("status after NotAfter: %s", st)
	}
	_, err = issueLeaf(t, s, r, "c4", "ok.test")
	wantCode(t, err, errs.ExitRefused, ReasonInvalidState)
	// Its status does not change, to DISABLED either (it stayed EXPIRED
	// after a "success", tester): AWS Private CA's InvalidStateException.
	for _, st := range []string{StatusDisabled, StatusActive} {
		wantCode(t, setStatus(t, s, short.ID, st), errs.ExitRefused, ReasonInvalidState)
	}
	if r := reload(t, s, short.ID); r.Status != StatusActive {
		t.Errorf("the expired CA's stored status became %s", r.Status)
	}
}

// TestRenewAddsConfiguredConstraints: a CA whose certificate lacks the
// name constraints of its configuration (imported before import checked
// them) is renewed with them: ca issue puts them in the certificate for its
// CSR, and the import takes it although its old certificate had none.
func TestRenewAddsConfiguredConstraints(t *testing.T) {
	s := newTestService(t, newClock())
	root := createRoot(t, s, "NC Renew Root", 0)
	sub := createSub(t, s, "NC Renew Sub", root.ID, 0)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, sub.ID)
		if err != nil {
			return err
		}
		r.NameConstraints = &NameConstraints{Permitted: &Subtrees{DnsNames: []string{"renew.test"}}}
		return Put(tx, r)
	})
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r, err := Get(tx, sub.ID)
		if err != nil {
			return err
		}
		csr, err := s.CSR(tx, r)
		if err != nil {
			return err
		}
		p, err := Get(tx, root.ID)
		if err != nil {
			return err
		}
		issued, err := s.IssueCSR(tx, p, CSRParams{CSR: []byte(csr), Template: "SubordinateCA", Validity: timeutil.Validity{Duration: timeutil.Year}})
		if err != nil {
			return err
		}
		if c := issued.Certificate; len(c.PermittedDNSDomains) != 1 || c.PermittedDNSDomains[0] != "renew.test" || !c.PermittedDNSDomainsCritical {
			t.Errorf("renewal constraints %v critical %v", c.PermittedDNSDomains, c.PermittedDNSDomainsCritical)
		}
		return s.ImportCertificate(tx, r, CertificateImport{Certificate: pemEncode("CERTIFICATE", issued.Certificate.Raw)})
	})
}
