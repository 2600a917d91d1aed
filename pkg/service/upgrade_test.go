package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestUpgradeAppliesCompromiseRule: a store migrated from a release that
// revoked for compromise without marks (SQLite 13, PostgreSQL 11) carries
// the upgrade mark; the first Upgrade applies the rule — the subordinate
// whose own certificate was revoked for keyCompromise signs nothing more —
// and removes the mark, on both stores. A new store has no mark.
func TestUpgradeAppliesCompromiseRule(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			opts := localstore.Options{}
			if kind == "postgres" {
				opts.StoreURL = pgtest.FreshSchema(t)
			}
			dir := t.TempDir()
			v, err := localstore.Open(ctx, dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { v.Close() })
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			ca := authority.New(v, func() time.Time { return now }, "")
			c := &Core{Vault: v, Now: func() time.Time { return now }, Authority: ca}
			marked := func() bool {
				t.Helper()
				found := false
				if err := v.Store.View(ctx, func(tx localstore.Tx) error {
					_, err := tx.GetMeta(localstore.MetaUpgradeCompromisedKeys)
					if errors.Is(err, localstore.ErrNotFound) {
						return nil
					}
					found = err == nil
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return found
			}
			if marked() {
				t.Fatal("a new store has the upgrade mark: it has no revocation to apply the rule to")
			}
			if err := c.Upgrade(ctx); err != nil {
				t.Fatal(err)
			}

			var sub *authority.Record
			if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
				root, err := ca.Create(tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
					Subject: authority.Subject{CommonName: "Root"}, Validity: 10 * 365 * 24 * time.Hour})
				if err != nil {
					return err
				}
				if sub, err = ca.Create(tx, authority.CreateRequest{Type: authority.TypeSubordinate, ParentID: root.ID,
					KeyAlgorithm: x509util.ECPrime256v1, Subject: authority.Subject{CommonName: "Sub"}, Validity: 365 * 24 * time.Hour}); err != nil {
					return err
				}
				// An earlier release: the serial revoked, no mark.
				if err := tx.RevokeSerial(root.ID, sub.Serial, now, 1); err != nil {
					return err
				}
				return tx.PutMeta(localstore.MetaUpgradeCompromisedKeys, []byte{1})
			}); err != nil {
				t.Fatal(err)
			}
			// As the next command does: the store opened again reads the
			// mark with its schema version.
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			if v, err = localstore.Open(ctx, dir, opts); err != nil {
				t.Fatal(err)
			}
			if !localstore.UpgradeMayBePending(v.Store) {
				t.Fatal("a store opened with the upgrade mark says no upgrade is pending")
			}
			ca = authority.New(v, func() time.Time { return now }, "")
			c = &Core{Vault: v, Now: func() time.Time { return now }, Authority: ca}
			if err := c.Upgrade(ctx); err != nil {
				t.Fatal(err)
			}
			if marked() {
				t.Fatal("the mark is still there after the upgrade")
			}
			if err := v.Store.View(ctx, func(tx localstore.Tx) error {
				r, err := authority.Get(tx, sub.ID)
				if err != nil {
					return err
				}
				if !strings.Contains(r.KeyRevoked, "KEY_COMPROMISE") {
					t.Errorf("the subordinate's KeyRevoked = %q after the upgrade", r.KeyRevoked)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// updateFails is a store whose write transactions fail with err.
type updateFails struct {
	localstore.Store
	err error
}

func (s updateFails) Update(context.Context, func(localstore.Tx) error) error { return s.err }

// TestUpgradeFailure: a pending upgrade that cannot be applied fails the
// command (exit 6 for a store error), so that nothing is signed under the
// old rules — but on a read-only vault, which changes nothing, the
// command goes on.
func TestUpgradeFailure(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, localstore.Options{})
	if err := c.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		return tx.PutMeta(localstore.MetaUpgradeCompromisedKeys, []byte{1})
	}); err != nil {
		t.Fatal(err)
	}
	real := c.Vault.Store
	c.Vault.Store = updateFails{real, localstore.ErrConnectionLost}
	if err := c.Upgrade(ctx); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Fatalf("a failed upgrade: %v, want exit 6", err)
	}
	c.Vault.Store = updateFails{real, fmt.Errorf("%w: test", localstore.ErrReadOnly)}
	if err := c.Upgrade(ctx); err != nil {
		t.Fatalf("on a read-only vault: %v, want nil", err)
	}
	c.Vault.Store = real
}
