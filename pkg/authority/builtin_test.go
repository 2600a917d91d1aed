package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// caListings counts the listings of the CAs made through it.
type caListings struct {
	localstore.Tx
	n int
}

func (c *caListings) ListObjects(kind string) ([]*localstore.Object, error) {
	if kind == ObjectKind {
		c.n++
	}
	return c.Tx.ListObjects(kind)
}

// TestBuiltInsReadTheCAsOnce: once the built-in hierarchies exist, finding
// one (on every `request --certificate-authority-arn default` and every
// ACME finalize) lists the vault's CAs at most once — not at all when the
// same service found it before (it reads that CA's record again) — and
// finds the same CA as on first use; the first use creates each hierarchy
// once. A new service (another process) lists them once and finds the
// same CAs.
func TestBuiltInsReadTheCAsOnce(t *testing.T) {
	s := newTestService(t, newClock())
	ecKey, rsaKey := leafKeys(t)
	first := map[string]string{}
	calls := []struct {
		name string
		fn   func(s *Service, tx localstore.Tx) (*Record, error)
	}{
		{"EnsureDefault", (*Service).EnsureDefault},
		{"EnsurePublic ECDSA", func(s *Service, tx localstore.Tx) (*Record, error) { return s.EnsurePublic(tx, ecKey.Public()) }},
		{"EnsurePublic RSA", func(s *Service, tx localstore.Tx) (*Record, error) { return s.EnsurePublic(tx, rsaKey.Public()) }},
		{"EnsurePublicRoot", (*Service).EnsurePublicRoot},
		{"Resolve default", func(s *Service, tx localstore.Tx) (*Record, error) { return Resolve(tx, s, testNames, "default") }},
	}
	// The listings of each call after the first round. Round 1: the
	// service found every role already; EnsurePublicRoot, not cached,
	// lists. Round 2, a new service: its first call lists, and learns
	// every role.
	listings := []map[string]int{1: {"EnsurePublicRoot": 1}, 2: {"EnsureDefault": 1, "EnsurePublicRoot": 1}}
	for round := range 3 {
		if round == 2 {
			s = New(s.Vault, s.Now, "") // another process
		}
		for _, c := range calls {
			mustUpdate(t, s, func(tx localstore.Tx) error {
				counted := &caListings{Tx: tx}
				r, err := c.fn(s, counted)
				if err != nil {
					return err
				}
				if round == 0 {
					first[c.name] = r.ID
					return nil
				}
				if r.ID != first[c.name] {
					t.Errorf("round %d, %s: %s, on first use %s", round, c.name, r.ID, first[c.name])
				}
				if want := listings[round][c.name]; counted.n != want {
					t.Errorf("round %d, %s: the CAs listed %d times, want %d", round, c.name, counted.n, want)
				}
				return nil
			})
		}
		mustUpdate(t, s, func(tx localstore.Tx) error {
			counted := &caListings{Tx: tx}
			if _, err := s.TrustBundle(counted); err != nil {
				return err
			}
			if round == 1 && counted.n != 2 { // the built-ins, then the roots
				t.Errorf("TrustBundle: the CAs listed %d times, want 2", counted.n)
			}
			return nil
		})
	}
	// Each role exists once.
	mustUpdate(t, s, func(tx localstore.Tx) error {
		all, err := List(tx)
		roles := map[string]int{}
		for _, r := range all {
			roles[r.BuiltIn]++
		}
		for _, role := range []string{BuiltInDefaultRoot, BuiltInDefault, BuiltInPublicRoot, BuiltInPublicRSA, BuiltInPublicECDSA} {
			if roles[role] != 1 {
				t.Errorf("%d CAs of role %s, want 1", roles[role], role)
			}
		}
		return err
	})
	if first["EnsureDefault"] != first["Resolve default"] {
		t.Errorf("Resolve default = %s, EnsureDefault = %s", first["Resolve default"], first["EnsureDefault"])
	}
}

// TestBuiltInRoleFollowsDeleteAndRestore: a service that found the
// default CA does not go on returning it once it is deleted (the next use
// creates another), and a restored built-in CA whose role was given again
// meanwhile comes back without it, so that every process — this one, and
// a new one listing the CAs — finds the same default CA. A restored CA
// whose role is still free keeps it.
func TestBuiltInRoleFollowsDeleteAndRestore(t *testing.T) {
	s := newTestService(t, newClock())
	ensure := func(s *Service) *Record {
		t.Helper()
		var r *Record
		mustUpdate(t, s, func(tx localstore.Tx) error {
			var err error
			r, err = s.EnsureDefault(tx)
			return err
		})
		return r
	}
	retire := func(id string) {
		t.Helper()
		if err := setStatus(t, s, id, StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if err := deleteCA(t, s, id, 7); err != nil {
			t.Fatal(err)
		}
	}
	x := ensure(s)
	retire(x.ID)
	y := ensure(s)
	if y.ID == x.ID || y.BuiltIn != BuiltInDefault {
		t.Fatalf("after deleting %s the default CA is %s (role %q), want a new one", x.ID, y.ID, y.BuiltIn)
	}
	if err := restoreCA(t, s, x.ID); err != nil {
		t.Fatal(err)
	}
	if r := reload(t, s, x.ID); r.BuiltIn != "" || r.Status != StatusDisabled {
		t.Errorf("restored %s: role %q, status %s; want no role (taken by %s), DISABLED", x.ID, r.BuiltIn, r.Status, y.ID)
	}
	for name, svc := range map[string]*Service{"this service": s, "a new service": New(s.Vault, s.Now, "")} {
		if got := ensure(svc); got.ID != y.ID {
			t.Errorf("%s: default CA %s, want %s", name, got.ID, y.ID)
		}
	}
	// Deleted and restored with its role free: it keeps it.
	retire(y.ID)
	if err := restoreCA(t, s, y.ID); err != nil {
		t.Fatal(err)
	}
	if r := reload(t, s, y.ID); r.BuiltIn != BuiltInDefault {
		t.Errorf("restored %s with its role free: role %q, want %q", y.ID, r.BuiltIn, BuiltInDefault)
	}
	for name, svc := range map[string]*Service{"this service": s, "a new service": New(s.Vault, s.Now, "")} {
		if got := ensure(svc); got.ID != y.ID {
			t.Errorf("%s: default CA %s after its restore, want %s", name, got.ID, y.ID)
		}
	}
}

// TestEnsurePublicMakesOnlyWhatTheKeyNeeds: an ECDSA issuance makes the
// public-style root and the ECDSA intermediate, not the RSA one; an RSA
// issuance adds the RSA intermediate under the same root. Once a role's CA
// exists, finding it creates nothing, whichever process asks (one that
// found it before, or a new one) and whatever else was deleted since.
func TestEnsurePublicMakesOnlyWhatTheKeyNeeds(t *testing.T) {
	s := newTestService(t, newClock())
	ecKey, rsaKey := leafKeys(t)
	ensure := func(s *Service, key crypto.Signer) *Record {
		t.Helper()
		var r *Record
		mustUpdate(t, s, func(tx localstore.Tx) error {
			var err error
			r, err = s.EnsurePublic(tx, key.Public())
			return err
		})
		return r
	}
	holders := func() map[string]int {
		t.Helper()
		n := map[string]int{}
		mustUpdate(t, s, func(tx localstore.Tx) error {
			all, err := List(tx)
			for _, r := range all {
				if r.Status != StatusDeleted {
					n[r.BuiltIn]++
				}
			}
			return err
		})
		return n
	}
	ec := ensure(s, ecKey)
	if n := holders(); n[BuiltInPublicRoot] != 1 || n[BuiltInPublicECDSA] != 1 || n[BuiltInPublicRSA] != 0 {
		t.Fatalf("after an ECDSA issuance: %v, want the root and the ECDSA intermediate only", n)
	}
	rsaCA := ensure(s, rsaKey)
	if n := holders(); n[BuiltInPublicRoot] != 1 || n[BuiltInPublicRSA] != 1 || rsaCA.ParentID != ec.ParentID {
		t.Fatalf("after an RSA issuance: %v, RSA CA's parent %s, ECDSA's %s; want one root for both", n, rsaCA.ParentID, ec.ParentID)
	}
	for _, id := range []string{rsaCA.ID, rsaCA.ParentID} {
		if err := setStatus(t, s, id, StatusDisabled); err != nil {
			t.Fatal(err)
		}
		// ca delete refuses a public-style CA; an earlier release did not.
		if err := deleteCA(t, s, id, 7); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Fatalf("deleting a public-style CA: %v, want exit 5", err)
		}
		mustUpdate(t, s, func(tx localstore.Tx) error {
			r, err := Get(tx, id)
			if err != nil {
				return err
			}
			r.PreviousStatus, r.Status, r.RestorableUntil = r.Status, StatusDeleted, s.Now().Add(7*24*time.Hour)
			return Put(tx, r)
		})
	}
	for name, svc := range map[string]*Service{"this service": s, "a new service": New(s.Vault, s.Now, "")} {
		if got := ensure(svc, ecKey); got.ID != ec.ID {
			t.Errorf("%s: ECDSA CA %s, want %s", name, got.ID, ec.ID)
		}
		if n := holders(); n[BuiltInPublicRoot] != 0 || n[BuiltInPublicRSA] != 0 {
			t.Errorf("%s: an ECDSA issuance re-created deleted CAs: %v", name, n)
		}
	}
	if again := ensure(s, rsaKey); again.ID == rsaCA.ID {
		t.Errorf("the deleted RSA CA %s was returned", again.ID)
	}
	if n := holders(); n[BuiltInPublicRoot] != 1 || n[BuiltInPublicRSA] != 1 {
		t.Errorf("after an RSA issuance with its CAs deleted: %v, want a new root and RSA intermediate", n)
	}
}

// leafKeys returns an ECDSA P-256 and an RSA 2048 key, as the public-style
// intermediates are chosen by.
func leafKeys(t *testing.T) (ecKey, rsaKey crypto.Signer) {
	t.Helper()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return ecKey, rsaKey
}

// TestPublicIssuer: what a public-style renewal's dry run asks — the
// issuing CA of the key's kind, or the root it would be made under, or
// nothing — and it makes none of them.
func TestPublicIssuer(t *testing.T) {
	s := newTestService(t, newClock())
	ecKey, _ := leafKeys(t)
	issuer := func(alg string) *Record {
		t.Helper()
		var r *Record
		err := s.Vault.Store.View(context.Background(), func(tx localstore.Tx) (err error) {
			r, err = s.PublicIssuer(tx, alg)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := issuer("EC_prime256v1"); r != nil {
		t.Fatalf("before any: %s", r.BuiltIn)
	}
	var ec *Record
	mustUpdate(t, s, func(tx localstore.Tx) (err error) {
		ec, err = s.EnsurePublic(tx, ecKey.Public())
		return err
	})
	if r := issuer("EC_prime256v1"); r == nil || r.ID != ec.ID {
		t.Errorf("ECDSA: %v, want the ECDSA issuing CA", r)
	}
	if r := issuer("RSA_2048"); r == nil || r.BuiltIn != BuiltInPublicRoot || r.ID != ec.ParentID {
		t.Errorf("RSA, its CA not made: %v, want the public-style root", r)
	}
	if r := issuer("RSA_2048"); r != nil && r.BuiltIn == BuiltInPublicRSA {
		t.Error("PublicIssuer made the RSA issuing CA")
	}
}
