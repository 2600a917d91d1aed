package localstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestUpdateLazySQLite: a lazy transaction commits (what it wrote is read
// and refused a second time by an ordinary one), runs with
// synchronous=NORMAL, and leaves no connection of the write pool without
// synchronous=FULL for the changes after it.
func TestUpdateLazySQLite(t *testing.T) {
	ctx := context.Background()
	s := newSQLite(t, localstore.OpenSQLite)
	redeemLazily(t, s, 3)
	// Every idle connection of the write pool: FULL (2).
	db := s.DB()
	conns := make([]int, 0, 4)
	for range 4 {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var v int
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, v)
	}
	for i, v := range conns {
		if v != 2 {
			t.Errorf("write connection %d: synchronous=%d after a lazy transaction, want 2 (FULL)", i, v)
		}
	}
}

// TestUpdateLazySQLiteKeepsTheWritersCache: a lazy transaction runs with
// synchronous=NORMAL on the connection of the write pool that the durable
// transactions use, so that the one after it keeps its page cache: PRAGMA
// data_version, which changes when another connection has committed since
// the connection's last transaction (and SQLite then drops its cache), is
// the same before it and after it. On a connection of its own it was not.
func TestUpdateLazySQLiteKeepsTheWritersCache(t *testing.T) {
	ctx := context.Background()
	s := newSQLite(t, localstore.OpenSQLite)
	pragma := func(tx localstore.Tx, name string) int64 {
		v, err := localstore.PragmaIn(tx, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var before, after, lazySync, afterSync int64
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		before = pragma(tx, "data_version")
		return tx.PutMeta("k", []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateLazy(ctx, func(tx localstore.Tx) error {
		lazySync = pragma(tx, "synchronous")
		_, err := tx.RedeemNonce("n", time.Now().Add(time.Hour))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		after, afterSync = pragma(tx, "data_version"), pragma(tx, "synchronous")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if lazySync != 1 {
		t.Errorf("lazy transaction: synchronous=%d, want 1 (NORMAL)", lazySync)
	}
	if afterSync != 2 {
		t.Errorf("durable transaction after a lazy one: synchronous=%d, want 2 (FULL)", afterSync)
	}
	if after != before {
		t.Errorf("data_version %d after a lazy transaction, %d before: it committed on another connection, whose commit dropped the writer's page cache", after, before)
	}
}

// TestUpdateLazyPostgres: a lazy transaction commits, its redemption is
// refused a second time.
func TestUpdateLazyPostgres(t *testing.T) {
	ctx := context.Background()
	p, err := localstore.OpenPostgres(ctx, pgtest.FreshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	redeemLazily(t, p, 2)
}

// redeemLazily redeems one nonce n times in lazy transactions (the first
// must succeed, the others be refused), then once in a durable one, which
// must be refused too.
func redeemLazily(t *testing.T, s interface {
	localstore.LazyStore
	Update(context.Context, func(localstore.Tx) error) error
}, n int) {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := range n {
		if err := s.UpdateLazy(ctx, func(tx localstore.Tx) error {
			ok, err := tx.RedeemNonce("n", exp)
			if err == nil && ok != (i == 0) {
				t.Errorf("lazy redemption %d: %v, want %v", i, ok, i == 0)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		ok, err := tx.RedeemNonce("n", exp)
		if ok {
			t.Error("a nonce redeemed lazily was redeemed again")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
