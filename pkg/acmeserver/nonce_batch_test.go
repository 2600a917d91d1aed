package acmeserver

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// lazyCounter is a store that counts its lazy (nonce) transactions.
type lazyCounter struct {
	localstore.Store
	n atomic.Int32
}

func (c *lazyCounter) UpdateLazy(ctx context.Context, fn func(localstore.Tx) error) error {
	c.n.Add(1)
	return c.Store.(localstore.LazyStore).UpdateLazy(ctx, fn)
}

// TestNonceBatchTakenUnderTheGate: redemptions that arrive while the
// server's write gate is held (a group commit writing) wait for it and are
// then recorded in one transaction, each nonce once.
func TestNonceBatchTakenUnderTheGate(t *testing.T) {
	v, err := localstore.Open(context.Background(), t.TempDir(), localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	store := &lazyCounter{Store: v.Store}
	n := NewNonceStore(store, time.Now, NonceLifetime, func() ([]byte, error) {
		s, err := v.Sealer()
		if err != nil {
			return nil, err
		}
		return s.NonceKey()
	})
	n.gate = make(chan struct{}, 1)
	n.gate <- struct{}{} // held by a commit
	const count = 8
	var wg sync.WaitGroup
	var wins atomic.Int32
	for range count {
		nonce, err := n.Issue()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		for range 2 { // the second redemption of each nonce must fail
			go func() {
				defer wg.Done()
				if n.RedeemContext(context.Background(), nonce) == nil {
					wins.Add(1)
				}
			}()
		}
	}
	// Every redemption waits, none taken into a batch while the gate is
	// held.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.mu.Lock()
		waiting := len(n.pending)
		n.mu.Unlock()
		if waiting == 2*count {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d redemptions waiting for the gate, want %d (a batch was taken before the gate was had)", waiting, 2*count)
		}
		time.Sleep(time.Millisecond)
	}
	<-n.gate
	wg.Wait()
	if got := wins.Load(); got != count {
		t.Errorf("%d redemptions succeeded, want %d (each nonce once)", got, count)
	}
	if got := store.n.Load(); got != 1 {
		t.Errorf("%d transactions for the redemptions that waited, want 1", got)
	}
}
