package acmeserver

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// NonceStore issues anti-replay nonces and redeems each at most once. It
// lives in the serving process: a nonce issued by one `endpoint serve` is
// unknown to another, which clients handle by retrying on badNonce.
type NonceStore struct {
	mu       sync.Mutex
	now      func() time.Time
	lifetime time.Duration
	max      int
	live     map[string]time.Time // nonce → expiry
}

// NewNonceStore returns a store whose nonces expire after lifetime; at most
// max are outstanding (the oldest are dropped beyond it).
func NewNonceStore(now func() time.Time, lifetime time.Duration, max int) *NonceStore {
	return &NonceStore{now: now, lifetime: lifetime, max: max, live: make(map[string]time.Time)}
}

// Issue returns a fresh nonce.
func (n *NonceStore) Issue() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.live) >= n.max {
		n.prune(now)
	}
	n.live[v] = now.Add(n.lifetime)
	return v, nil
}

// prune drops expired nonces and, if still full, the oldest half.
func (n *NonceStore) prune(now time.Time) {
	var oldest time.Time
	for k, exp := range n.live {
		if !now.Before(exp) {
			delete(n.live, k)
		} else if oldest.IsZero() || exp.Before(oldest) {
			oldest = exp
		}
	}
	if len(n.live) < n.max {
		return
	}
	cut := oldest.Add(n.lifetime / 2)
	for k, exp := range n.live {
		if exp.Before(cut) {
			delete(n.live, k)
		}
	}
}

// Redeem consumes nonce v: true only the first time for a live nonce.
func (n *NonceStore) Redeem(v string) bool {
	now := n.now()
	n.mu.Lock()
	defer n.mu.Unlock()
	exp, ok := n.live[v]
	if !ok {
		return false
	}
	delete(n.live, v)
	return now.Before(exp)
}

// Len is the number of outstanding nonces.
func (n *NonceStore) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.live)
}
