package acmestate

import (
	"bytes"
	"slices"
	"sync"

	"github.com/certctl/certctl/pkg/localstore"
)

// decodedCache keeps the decoding of records of one kind the server reads
// on every request (the endpoint, the account a kid names), keyed by the
// record's ID together with its stored bytes: a record read in the
// caller's transaction is decoded again only when its bytes differ from
// those decoded last, so a change by any process sharing the store (or by
// this one) is seen at once, and a cached value is current in the
// transaction that read the bytes. The cached value is never handed out:
// each caller gets its own deep copy (clone), which it may modify.
type decodedCache[T any] struct {
	clone func(*T) *T
	mu    sync.Mutex
	m     map[string]decoded[T]
}

type decoded[T any] struct {
	data []byte
	v    *T
}

// decodedCacheMax bounds a cache; a full cache starts over.
const decodedCacheMax = 1024

// decode is the record o decoded, as decodeObject would decode it.
func (c *decodedCache[T]) decode(o *localstore.Object) (*T, error) {
	c.mu.Lock()
	e, ok := c.m[o.ID]
	c.mu.Unlock()
	if ok && bytes.Equal(e.data, o.Data) {
		return c.clone(e.v), nil
	}
	v := new(T)
	if err := decodeObject(o, v); err != nil {
		return nil, err
	}
	e = decoded[T]{data: bytes.Clone(o.Data), v: c.clone(v)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= decodedCacheMax {
		c.m = make(map[string]decoded[T])
	}
	c.m[o.ID] = e
	c.mu.Unlock()
	return v, nil
}

var (
	endpointCache = decodedCache[Endpoint]{clone: cloneEndpoint}
	accountCache  = decodedCache[Account]{clone: cloneAccount}
)

// cloneEndpoint is a deep copy of e (time.Time values share only their
// immutable Location).
func cloneEndpoint(e *Endpoint) *Endpoint {
	c := *e
	c.AllowedKeyAlgorithms = slices.Clone(e.AllowedKeyAlgorithms)
	c.ChallengeTypes = slices.Clone(e.ChallengeTypes)
	c.CertificateTags = slices.Clone(e.CertificateTags)
	c.Tags = slices.Clone(e.Tags)
	return &c
}

// cloneAccount is a deep copy of a.
func cloneAccount(a *Account) *Account {
	c := *a
	c.Contact = slices.Clone(a.Contact)
	c.JWK = bytes.Clone(a.JWK)
	return &c
}
