package acmestate

import (
	"errors"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// KindRate holds the sliding windows of the ACME rate limits. A window is
// one record, read and rewritten in the transaction of the change it
// counts, so that every server on the store shares it and two of them
// cannot both admit the last slot (the store serializes the writes: SQLite
// by its write lock, PostgreSQL by serializable isolation, whose conflict
// re-runs the losing transaction, which then sees the window full).
const KindRate = "acme-rate"

// RateWindow is the length of the windows (acme.orders_per_hour,
// acme.new_accounts_per_hour).
const RateWindow = time.Hour

// rateRecord is the times (Unix milliseconds, oldest first) of the events
// counted in the last window.
type rateRecord struct {
	Times []int64 `json:"times"`
}

// OrdersRateKey is the window of the orders of an account.
func OrdersRateKey(endpointID, accountID string) string {
	return endpointID + "/orders/" + accountID
}

// NewAccountsRateKey is the window of the new accounts of an endpoint.
func NewAccountsRateKey(endpointID string) string { return endpointID + "/new-accounts" }

// Admit counts one event at now in the window key when fewer than limit
// were counted in the RateWindow before now, and returns 0. When the
// window is full it counts nothing and returns how long until its oldest
// event leaves it (at least a second). limit < 1 admits everything.
func Admit(tx localstore.Tx, key string, limit int, now time.Time) (time.Duration, error) {
	if limit < 1 {
		return 0, nil
	}
	var rec rateRecord
	if err := getJSON(tx, KindRate, key, &rec); err != nil && !errors.Is(err, localstore.ErrNotFound) {
		return 0, err
	}
	ms := now.UnixMilli()
	from := ms - RateWindow.Milliseconds()
	rec.Times = slices.DeleteFunc(rec.Times, func(t int64) bool { return t <= from })
	if len(rec.Times) >= limit {
		wait := time.Duration(rec.Times[len(rec.Times)-limit]-from) * time.Millisecond
		return max((wait + time.Second - 1).Truncate(time.Second), time.Second), nil
	}
	rec.Times = append(rec.Times, ms)
	slices.Sort(rec.Times) // the servers' clocks may differ a little
	return 0, putJSON(tx, KindRate, key, rec, now)
}
