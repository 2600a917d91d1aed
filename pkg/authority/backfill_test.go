package authority

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestBackfillCompromised applies the compromise rule to revocations an
// earlier release wrote without its marks (the serial revoked, nothing
// else): a subordinate's own certificate and a leaf revoked for
// keyCompromise, another leaf for superseded. After the backfill the
// subordinate signs nothing and the leaf's key is refused, as if Revoke had
// revoked them; the superseded leaf's key stays usable; a second run
// changes nothing.
func TestBackfillCompromised(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root, sub := rootAndSub(t, s, "Backfill", 5*365*24*time.Hour)
	compromised, err := issueLeaf(t, s, root, "leaf-1", "one.internal")
	if err != nil {
		t.Fatal(err)
	}
	superseded, err := issueLeaf(t, s, root, "leaf-2", "two.internal")
	if err != nil {
		t.Fatal(err)
	}
	at := clk.now
	// What an earlier release wrote: the revocations alone.
	mustUpdate(t, s, func(tx localstore.Tx) error {
		for _, r := range []struct {
			serial string
			reason int
		}{
			{sub.Serial, 1},
			{x509util.FormatSerial(compromised.Certificate.SerialNumber), 1},
			{x509util.FormatSerial(superseded.Certificate.SerialNumber), 4},
		} {
			if err := tx.RevokeSerial(root.ID, r.serial, at, r.reason); err != nil {
				return err
			}
		}
		return nil
	})
	// Before the backfill the subordinate is not marked (the bug it
	// mends); it signs nothing all the same, its own certificate being
	// revoked (checkChainRevoked).
	if r := reload(t, s, sub.ID); r.KeyRevoked != "" {
		t.Fatalf("marked before the backfill: %q", r.KeyRevoked)
	}
	if _, err := issueLeaf(t, s, reload(t, s, sub.ID), "leaf-3", "three.internal"); errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "is revoked") {
		t.Fatalf("a subordinate whose certificate is revoked signed before the backfill: %v", err)
	}

	for run := 1; run <= 2; run++ {
		var n int
		mustUpdate(t, s, func(tx localstore.Tx) (err error) {
			n, err = BackfillCompromised(tx)
			return err
		})
		if n != 2 {
			t.Fatalf("run %d: %d compromise revocations applied, want 2", run, n)
		}
		got := reload(t, s, sub.ID)
		if !strings.Contains(got.KeyRevoked, "KEY_COMPROMISE") || !strings.Contains(got.KeyRevoked, root.ID) {
			t.Fatalf("run %d: subordinate KeyRevoked = %q", run, got.KeyRevoked)
		}
		if _, err := issueLeaf(t, s, got, "leaf-4", "four.internal"); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Fatalf("run %d: the subordinate signed after the backfill: %v", run, err)
		}
		if r := reload(t, s, root.ID); r.KeyRevoked != "" {
			t.Fatalf("run %d: the root was marked: %q", run, r.KeyRevoked)
		}
		if err := s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
			if err := inventory.CheckKeyNotCompromised(tx, compromised.Certificate.PublicKey, "the key", inventory.ReasonKeyCompromised); errs.ExitCodeOf(err) != errs.ExitRefused {
				t.Errorf("run %d: the compromised leaf key is not refused: %v", run, err)
			}
			return inventory.CheckKeyNotCompromised(tx, superseded.Certificate.PublicKey, "the key", inventory.ReasonKeyCompromised)
		}); err != nil {
			t.Fatalf("run %d: the superseded leaf's key: %v", run, err)
		}
	}
}

// TestPublicStyleSurvivesRestore: a public-style root that an earlier
// release wrote (no PublicHierarchy mark), deleted, its role given to a new
// root, then restored, comes back without its role but still public-style
// — CheckPrivateIssuer refuses it, and a CA under it (tester: it signed a
// PRIVATE www.google.com); a private root passes.
func TestPublicStyleSurvivesRestore(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	var old *Record
	mustUpdate(t, s, func(tx localstore.Tx) (err error) {
		if old, err = s.EnsurePublicRoot(tx); err != nil {
			return err
		}
		// As an earlier release wrote and deleted it (Delete refuses it
		// now).
		old.PublicHierarchy = false
		old.PreviousStatus, old.Status = StatusDisabled, StatusDeleted
		old.RestorableUntil = clk.now.Add(7 * 24 * time.Hour)
		return Put(tx, old)
	})
	mustUpdate(t, s, func(tx localstore.Tx) error {
		_, err := s.EnsurePublicRoot(tx) // a new root takes the role
		return err
	})
	mustUpdate(t, s, func(tx localstore.Tx) error { return s.Restore(tx, reload(t, s, old.ID)) })
	restored := reload(t, s, old.ID)
	if restored.BuiltIn != "" || !restored.PublicStyle() {
		t.Fatalf("restored root: BuiltIn %q, PublicStyle %v; want no role, still public-style", restored.BuiltIn, restored.PublicStyle())
	}
	private := createRoot(t, s, "Private Root", 10*365*24*time.Hour)
	if err := s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		if err := CheckPrivateIssuer(tx, restored); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Errorf("the restored public-style root as a private CA: %v", err)
		}
		// A subordinate an earlier release let ca create --parent make
		// under it.
		under := *private
		under.ID, under.ParentID, under.Type = "under-public", restored.ID, TypeSubordinate
		if err := CheckPrivateIssuer(tx, &under); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Errorf("a CA under the public-style root as a private CA: %v", err)
		}
		return CheckPrivateIssuer(tx, private)
	}); err != nil {
		t.Fatalf("a private root: %v", err)
	}
}

// TestBackfillCompromisedWithoutDER: a CA whose own certificate's serial
// an older vault recorded without the certificate, revoked for
// cACompromise, is marked by its serial and issuer.
func TestBackfillCompromisedWithoutDER(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root, sub := rootAndSub(t, s, "Old", 365*24*time.Hour)
	mustUpdate(t, s, func(tx localstore.Tx) error {
		// As an older vault has it: the serial alone, then revoked.
		old := reload(t, s, sub.ID)
		old.Serial = "0a:0b:0c"
		if err := Put(tx, old); err != nil {
			return err
		}
		if err := tx.ReserveSerial(root.ID, old.Serial, "", clk.now); err != nil {
			return err
		}
		if err := tx.RevokeSerial(root.ID, old.Serial, clk.now, 2); err != nil {
			return err
		}
		_, err := BackfillCompromised(tx)
		return err
	})
	if got := reload(t, s, sub.ID); !strings.Contains(got.KeyRevoked, "CA_COMPROMISE") {
		t.Fatalf("KeyRevoked = %q, want the CA_COMPROMISE revocation of its serial", got.KeyRevoked)
	}
}

// TestCompromisedKeyWithoutMark: a CA whose KeyRevoked mark an older
// release still running dropped (it rewrites the record without the
// field) signs nothing all the same: its key is noted compromised.
func TestCompromisedKeyWithoutMark(t *testing.T) {
	clk := newClock()
	s := newTestService(t, clk)
	root, sub := rootAndSub(t, s, "Mark", 365*24*time.Hour)
	mustUpdate(t, s, func(tx localstore.Tx) error { return Revoke(tx, root.ID, sub.Serial, clk.now, 1) })
	mustUpdate(t, s, func(tx localstore.Tx) error {
		r := reload(t, s, sub.ID)
		r.KeyRevoked = "" // as the older release wrote it back
		return Put(tx, r)
	})
	fresh := New(s.Vault, clk.Now, "") // a process that loads the signer now
	if _, err := issueLeaf(t, fresh, reload(t, fresh, sub.ID), "leaf-x", "x.internal"); errs.ExitCodeOf(err) != errs.ExitRefused ||
		!strings.Contains(err.Error(), "revoked for compromise") {
		t.Fatalf("a CA whose key is noted compromised, without its mark: %v", err)
	}
}

// rootAndSub creates a 10-year root "<name> Root" and under it a P-256
// subordinate "<name> Sub" valid for validity.
func rootAndSub(t *testing.T, s *Service, name string, validity time.Duration) (root, sub *Record) {
	t.Helper()
	root = createRoot(t, s, name+" Root", 10*365*24*time.Hour)
	sub = createCA(t, s, CreateRequest{Type: TypeSubordinate, ParentID: root.ID, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: name + " Sub"}, Validity: validity})
	return root, sub
}
