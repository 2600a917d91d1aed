package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// TestStoreIssuedRefusesAnOlderVersion: a new version whose key the vault
// holds (one hosts install) is refused (exit 5) when its certificate
// starts before the current version's — made on a clock behind the one
// that made that — whichever path issued it (renewal, a domain-validated
// renewal's issuance); a version whose key an ACME client holds (no key
// here) is stored, and so is a version that starts later.
func TestStoreIssuedRefusesAnOlderVersion(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	core := coretest.New(t, coretest.Config{Now: func() time.Time { return now }})
	ca := testpki.NewRoot("Clock Root", now.Add(-48*time.Hour))
	current := &localstore.Certificate{ID: "1b2c3d4e-0000-4000-8000-000000000001", DomainName: "clock.internal", Version: 3, NotBefore: now,
		Type: inventory.TypePrivate, KeyPairOrigin: inventory.OriginVault, Status: inventory.StatusIssued}
	for _, tc := range []struct {
		name    string
		start   time.Time
		withKey bool
		refused bool
	}{
		{"older, the vault's key", now.Add(-time.Hour), true, true},
		{"older, an ACME client's key", now.Add(-time.Hour), false, false},
		{"newer, the vault's key", now.Add(time.Second), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *current
			leaf, key := ca.Leaf(testpki.LeafOptions{Names: []string{"clock.internal"}, NotBefore: tc.start})
			if !tc.withKey {
				key = nil
			}
			err := core.Change(context.Background(), "RenewCertificate", func(op *service.Op) error {
				return inventory.StoreIssued(op.Tx, core.Vault, &c, leaf, nil, key, now)
			})
			switch {
			case tc.refused && (errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "clock")):
				t.Errorf("StoreIssued: %v (exit %d), want refused, naming the clock", err, errs.ExitCodeOf(err))
			case !tc.refused && err != nil:
				t.Errorf("StoreIssued: %v", err)
			case tc.refused && c.Version != 3:
				t.Errorf("the record's version moved to %d", c.Version)
			}
		})
	}
}
