package authority

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

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
// ACME finalize) lists the vault's CAs once, and finds the same CA as on
// first use; the first use creates each hierarchy once.
func TestBuiltInsReadTheCAsOnce(t *testing.T) {
	s := newTestService(t, newClock())
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	calls := []struct {
		name string
		fn   func(tx localstore.Tx) (*Record, error)
	}{
		{"EnsureDefault", s.EnsureDefault},
		{"EnsurePublic ECDSA", func(tx localstore.Tx) (*Record, error) { return s.EnsurePublic(tx, ecKey.Public()) }},
		{"EnsurePublic RSA", func(tx localstore.Tx) (*Record, error) { return s.EnsurePublic(tx, rsaKey.Public()) }},
		{"EnsurePublicRoot", s.EnsurePublicRoot},
		{"Resolve default", func(tx localstore.Tx) (*Record, error) { return Resolve(tx, s, "default") }},
	}
	for round := range 2 {
		for _, c := range calls {
			mustUpdate(t, s, func(tx localstore.Tx) error {
				counted := &caListings{Tx: tx}
				r, err := c.fn(counted)
				if err != nil {
					return err
				}
				if round == 0 {
					first[c.name] = r.ID
				} else {
					if r.ID != first[c.name] {
						t.Errorf("%s: %s, on first use %s", c.name, r.ID, first[c.name])
					}
					if counted.n != 1 {
						t.Errorf("%s: the CAs listed %d times, want 1", c.name, counted.n)
					}
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
