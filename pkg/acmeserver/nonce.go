package acmeserver

// Nonces: stateless when issued, recorded when redeemed.
//
// Any number of `endpoint serve` processes share one store and must behave
// as one service behind a load balancer that may send each request to
// another process, so a nonce issued by one must be redeemable exactly once
// at any of them. The two designs in use elsewhere:
//
//   - step-ca keeps nonces in its database: a row is inserted when a nonce
//     is issued and deleted (in a transaction) when it is redeemed.
//   - Boulder's nonce service issues nonces that are authenticated
//     (AES-GCM over a counter) and carry a prefix routing the redemption
//     back to the instance that issued them, which keeps the used ones in
//     memory.
//
// certctl's nonce is authenticated and carries its own expiry, like
// Boulder's, but the set of redeemed nonces is in the store, like
// step-ca's table, so no routing is needed:
//
//	nonce = base64url(1 | expiry (8 bytes, Unix seconds) | random (12) | HMAC-SHA256(key, first 21 bytes)[:16])
//
// Issuing a nonce (on every response) costs an HMAC and no store access;
// redeeming one checks the MAC and the expiry, then inserts it into
// acme_nonces, whose primary key makes the redemption atomic across
// processes on SQLite (one writer at a time) and PostgreSQL (a unique
// index, under SERIALIZABLE with retries). The reasons for this choice:
//
//   - A response mints a nonce but only a POST redeems one: storing at
//     issue would add a write to every response, HEAD newNonce included,
//     which any unauthenticated client can send in a loop to fill the
//     store. Here only a request whose nonce verifies writes, and the
//     write is one short insert.
//   - Nothing is evicted: the old in-memory store dropped the oldest half
//     of its nonces at 100,000, so one client's traffic could invalidate
//     every other client's nonces. A redeemed row lives until its nonce
//     expires (NonceLifetime) and is then swept; an unredeemed nonce needs
//     no room at all.
//   - The key is a secret of the store, sealed under the vault's master
//     key (acmestate.NonceKey), which every server of the store already
//     holds: there is no key to distribute, and a rotation of the master
//     key re-seals it without changing it, so that servers started before
//     and after it accept each other's nonces.
//
// Redeeming costs a write transaction, though not a wait for the disk: a
// redemption is committed without fsync (localstore.LazyStore: SQLite's
// synchronous=NORMAL, which still survives the process being killed, and
// PostgreSQL's synchronous_commit=off), since a power failure then loses
// only the redemptions of its last moment (their nonces, still live,
// could be replayed once), while an fsync per POST-as-GET was most of its
// cost; the next durable commit of any change syncs them too. The
// redemptions that arrive while one commits are recorded together in the
// next transaction (group commit, see redeemBatched). A request that
// makes a change (newOrder, finalize) redeems its nonce in that change's
// own transaction instead (authenticateDeferred, redeemIn), so that the
// two cost one commit; its refusals redeem the nonce on their own, as
// above.
//
// A nonce of a stopped or killed server stays valid at the others; clock
// skew between servers up to sweepMargin cannot make a redeemed nonce
// redeemable again.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// Layout of a nonce, before base64url.
const (
	nonceVersion = 1
	nonceBody    = 1 + 8 + 12 // version, expiry, random
	nonceMACLen  = 16
	nonceLen     = nonceBody + nonceMACLen
)

// sweepEvery is how often a server deletes expired redeemed nonces;
// sweepMargin is how long after its expiry a redeemed nonce is kept, so
// that a server whose clock is behind still finds it redeemed.
const (
	sweepEvery  = time.Minute
	sweepMargin = 10 * time.Minute
)

// ErrNonce is returned by Redeem for a nonce that is malformed, forged,
// expired or already redeemed.
var ErrNonce = errors.New("nonce is unknown, expired or already used")

// NonceStore issues anti-replay nonces and redeems each at most once,
// across every server of the store.
type NonceStore struct {
	store    localstore.Store
	now      func() time.Time
	lifetime time.Duration
	key      func() ([]byte, error)

	// mac is the key once read (macKey); keyMu serialises its reading.
	keyMu sync.Mutex
	mac   atomic.Pointer[[]byte]

	// lastSweep is the Unix nanoseconds of the last sweep started.
	lastSweep atomic.Int64
	sweeping  sync.WaitGroup
	// logf reports sweep failures.
	logf func(string, ...any)
	// gate, when set, admits one write transaction of this process at a
	// time: the server's WriteGate, shared with its changes.
	gate chan struct{}

	// mu guards the redemptions waiting for a batch (see redeemBatched).
	mu       sync.Mutex
	pending  []*redemption
	flushing bool
}

// NewNonceStore returns nonces that expire after lifetime, authenticated
// by the key that key returns (read once it succeeds) and redeemed in
// store.
func NewNonceStore(store localstore.Store, now func() time.Time, lifetime time.Duration, key func() ([]byte, error)) *NonceStore {
	n := &NonceStore{store: store, now: now, lifetime: lifetime, key: key, logf: func(string, ...any) {}}
	n.lastSweep.Store(now().UnixNano())
	return n
}

// macKey is the key of the nonces, read once it is had: a failure to
// read it (the store unavailable, the vault's key being rotated) is tried
// again by the next call.
func (n *NonceStore) macKey() ([]byte, error) {
	if k := n.mac.Load(); k != nil {
		return *k, nil
	}
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	if k := n.mac.Load(); k != nil {
		return *k, nil
	}
	k, err := n.key()
	if err != nil {
		return nil, err
	}
	n.mac.Store(&k)
	return k, nil
}

func (n *NonceStore) sum(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)[:nonceMACLen]
}

// Issue returns a fresh nonce. It touches no store.
func (n *NonceStore) Issue() (string, error) {
	key, err := n.macKey()
	if err != nil {
		return "", err
	}
	b := make([]byte, nonceBody, nonceLen)
	b[0] = nonceVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(n.now().Add(n.lifetime).Unix()))
	if _, err := rand.Read(b[9:nonceBody]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(b, n.sum(key, b)...)), nil
}

// check verifies nonce v's MAC and expiry and returns its expiry.
func (n *NonceStore) check(v string) (time.Time, error) {
	key, err := n.macKey()
	if err != nil {
		return time.Time{}, err
	}
	if base64.RawURLEncoding.DecodedLen(len(v)) != nonceLen {
		return time.Time{}, ErrNonce
	}
	// Strict: the last character of a nonce carries 4 bits of padding,
	// which the lenient decoder ignores, so 16 spellings would decode to
	// one nonce — and each, recorded as the string the client sent, would
	// be redeemed once.
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != nonceLen || b[0] != nonceVersion {
		return time.Time{}, ErrNonce
	}
	if !hmac.Equal(b[nonceBody:], n.sum(key, b[:nonceBody])) {
		return time.Time{}, ErrNonce
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0)
	if !n.now().Before(exp) {
		return time.Time{}, ErrNonce
	}
	return exp, nil
}

// RedeemContext consumes nonce v: nil only the first time a live nonce
// issued by any server of the store is redeemed, ErrNonce when it is not
// one or was redeemed before, another error when the store fails.
func (n *NonceStore) RedeemContext(ctx context.Context, v string) error {
	exp, err := n.check(v)
	if err != nil {
		return err
	}
	ok, err := n.redeemBatched(ctx, v, exp.Add(sweepMargin))
	if err != nil {
		return err
	}
	n.maybeSweep()
	if !ok {
		return ErrNonce
	}
	return nil
}

// redemption is one nonce waiting for the batch that records it.
type redemption struct {
	nonce   string
	expires time.Time
	ok      bool
	done    chan error
}

// redeemBatched records nonce v in the store with the other redemptions
// waiting at the same moment: one write transaction (one commit, one fsync
// on SQLite) for all of them. The first redemption that finds no batch
// under way starts one; those arriving while it commits form the next.
func (n *NonceStore) redeemBatched(ctx context.Context, v string, expires time.Time) (bool, error) {
	r := &redemption{nonce: v, expires: expires, done: make(chan error, 1)}
	n.mu.Lock()
	n.pending = append(n.pending, r)
	if !n.flushing {
		n.flushing = true
		go n.flush()
	}
	n.mu.Unlock()
	select {
	case err := <-r.done:
		return r.ok, err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// StoreWait bounds how long a change of the server (and a batch of nonce
// redemptions) waits for the store: a store whose lock another process
// holds (a long import, a backup) answers the request 503 with
// Retry-After (Server.internal) within it, before ACME clients' own
// timeouts (lego's 30 s), rather than holding it open.
var StoreWait = 10 * time.Second

// maxBatch bounds the redemptions of one transaction.
const maxBatch = 256

// flush records the waiting redemptions, batch after batch, until none
// waits. A batch is taken once the write gate is held: the redemptions
// that arrived while the gate was busy (a group commit writing, another
// batch) ride in the same transaction instead of one of their own.
func (n *NonceStore) flush() {
	for {
		var batch []*redemption
		ctx, cancel := context.WithTimeout(context.Background(), StoreWait)
		err := n.gated(ctx, func() error {
			if batch = n.take(); len(batch) == 0 {
				return nil
			}
			return n.update(ctx, func(tx localstore.Tx) error {
				// The store may run this again: results are assigned.
				for _, r := range batch {
					var err error
					if r.ok, err = tx.RedeemNonce(r.nonce, r.expires); err != nil {
						return err
					}
				}
				return nil
			})
		})
		cancel()
		if err != nil && batch == nil {
			// The gate was not had (its 30 s ran out): the waiting
			// redemptions fail with that, as a failed transaction's do.
			batch = n.take()
		}
		if batch == nil {
			return
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// take takes up to maxBatch waiting redemptions; when none waits it ends
// the flush (nil), so that the next redemption starts another.
func (n *NonceStore) take() []*redemption {
	n.mu.Lock()
	defer n.mu.Unlock()
	batch := n.pending
	if len(batch) > maxBatch {
		batch = batch[:maxBatch]
	}
	n.pending = n.pending[len(batch):]
	if len(batch) == 0 {
		n.pending = nil
		n.flushing = false
		return nil
	}
	return batch
}

// Redeem is RedeemContext reporting only success.
func (n *NonceStore) Redeem(v string) bool {
	return n.RedeemContext(context.Background(), v) == nil
}

// maybeSweep starts a sweep in the background when the last one is
// sweepEvery old.
func (n *NonceStore) maybeSweep() {
	now := n.now().UnixNano()
	last := n.lastSweep.Load()
	if now-last < int64(sweepEvery) || !n.lastSweep.CompareAndSwap(last, now) {
		return
	}
	n.sweeping.Add(1)
	go func() {
		defer n.sweeping.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := n.Sweep(ctx); err != nil {
			n.logf("acme: sweeping nonces: %v", err)
		}
	}()
}

// Sweep deletes the redeemed nonces that can no longer verify and returns
// how many.
func (n *NonceStore) Sweep(ctx context.Context) (int64, error) {
	var swept int64
	err := n.gated(ctx, func() error {
		return n.update(ctx, func(tx localstore.Tx) error {
			var err error
			swept, err = tx.SweepNonces(n.now())
			return err
		})
	})
	return swept, err
}

// Wait waits for a sweep under way.
func (n *NonceStore) Wait() { n.sweeping.Wait() }

// update runs fn in a write transaction whose commit need not wait for
// the disk when the store can do that (localstore.LazyStore): a redeemed
// nonce lost in a power failure is a replay window of that moment's
// nonces, while an fsync for each batch of POST-as-GET requests is most
// of their cost. Across processes, the redemption is as atomic as before:
// the same primary key in the same store.
//
// A transaction that the write guard refused because another process
// rotated the vault's master key (nothing of it was written; the stale
// key is dropped) runs again at once: redemptions seal nothing.
func (n *NonceStore) update(ctx context.Context, fn func(localstore.Tx) error) error {
	return afterRotation(func() error {
		if l, ok := n.store.(localstore.LazyStore); ok {
			return l.UpdateLazy(ctx, fn)
		}
		return n.store.Update(ctx, fn)
	})
}

// gated runs fn through the server's write gate, when there is one.
func (n *NonceStore) gated(ctx context.Context, fn func() error) error {
	if n.gate != nil {
		select {
		case n.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-n.gate }()
	}
	return fn()
}
