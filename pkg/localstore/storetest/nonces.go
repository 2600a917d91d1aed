package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// redeem redeems nonce in its own write transaction.
func redeem(t *testing.T, s localstore.Store, nonce string, exp time.Time) (bool, error) {
	var ok bool
	err := s.Update(ctx(t), func(tx localstore.Tx) error {
		var err error
		ok, err = tx.RedeemNonce(nonce, exp)
		return err
	})
	return ok, err
}

// testNonces: a nonce is redeemed once; sweeping forgets only expired ones.
func testNonces(t *testing.T, s localstore.Store) {
	now := time.Unix(1_800_000_000, 0)
	for i, want := range []bool{true, false, false} {
		ok, err := redeem(t, s, "n1", now.Add(time.Hour))
		if err != nil || ok != want {
			t.Fatalf("redemption %d of n1 = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if ok, err := redeem(t, s, "n2", now.Add(-time.Minute)); err != nil || !ok {
		t.Fatalf("redeem n2 = %v, %v", ok, err)
	}
	// A rolled-back redemption redeems nothing.
	_ = s.Update(ctx(t), func(tx localstore.Tx) error {
		if _, err := tx.RedeemNonce("n3", now.Add(time.Hour)); err != nil {
			return err
		}
		return errSentinel
	})
	if ok, err := redeem(t, s, "n3", now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("redeem n3 after a rollback = %v, %v", ok, err)
	}
	var swept int64
	update(t, s, func(tx localstore.Tx) error {
		var err error
		swept, err = tx.SweepNonces(now)
		return err
	})
	if swept != 1 {
		t.Errorf("swept %d nonces, want 1 (n2)", swept)
	}
	if ok, _ := redeem(t, s, "n1", now.Add(time.Hour)); ok {
		t.Error("n1 redeemable again after a sweep of others")
	}
}

// testNoncesConcurrent redeems one nonce from many goroutines at once:
// exactly one wins.
func testNoncesConcurrent(t *testing.T, s localstore.Store) {
	exp := time.Now().Add(time.Hour)
	for round := 0; round < 5; round++ {
		nonce := "race-" + string(rune('a'+round))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := redeem(t, s, nonce, exp)
				if err != nil {
					t.Errorf("redeem: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%s redeemed %d times, want 1", nonce, n)
		}
	}
}
