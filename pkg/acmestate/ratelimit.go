package acmestate

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
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
	o, err := tx.GetObject(KindRate, key)
	switch {
	case err == nil:
		if err := rec.decode(o); err != nil {
			return 0, err
		}
	case !errors.Is(err, localstore.ErrNotFound):
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
	return 0, tx.PutObject(&localstore.Object{Kind: KindRate, ID: key, Data: rec.encode(), UpdatedAt: now})
}

// The window of an account's orders holds a time for each of its orders
// in the last hour (hundreds for a busy client), and is read and written
// by each of them: rateRecord is decoded and encoded by hand, as
// json.Unmarshal and json.Marshal would, in their common form
// ({"times":[1,2]}); any other text falls back to encoding/json.
const ratePrefix, rateSuffix = `{"times":`, `}`

// decode decodes the stored window o into r as decodeObject would.
func (r *rateRecord) decode(o *localstore.Object) error {
	if times, ok := decodeTimes(o.Data); ok {
		r.Times = times
		return nil
	}
	return decodeObject(o, r)
}

// decodeTimes decodes {"times":[...]} of non-negative integers without
// leading zeros, none beyond int64, and nothing else (no white space);
// false for anything else.
func decodeTimes(data []byte) ([]int64, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(ratePrefix))
	if !ok {
		return nil, false
	}
	if rest, ok = bytes.CutSuffix(rest, []byte(rateSuffix)); !ok {
		return nil, false
	}
	if string(rest) == "null" {
		return nil, true
	}
	if len(rest) < 2 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return nil, false
	}
	rest = rest[1 : len(rest)-1]
	times := make([]int64, 0, bytes.Count(rest, []byte(","))+1)
	for len(rest) > 0 {
		num, after, more := bytes.Cut(rest, []byte(","))
		if len(num) == 0 || (num[0] == '0' && len(num) > 1) || (more && len(after) == 0) {
			return nil, false
		}
		var n int64
		for _, c := range num {
			if c < '0' || c > '9' || n > (math.MaxInt64-int64(c-'0'))/10 {
				return nil, false
			}
			n = n*10 + int64(c-'0')
		}
		times = append(times, n)
		rest = after
	}
	return times, true
}

// encode is json.Marshal(r).
func (r rateRecord) encode() []byte {
	if r.Times == nil {
		return []byte(ratePrefix + "null" + rateSuffix)
	}
	b := make([]byte, 0, len(ratePrefix)+len(rateSuffix)+2+len(r.Times)*14)
	b = append(b, ratePrefix+"["...)
	for i, t := range r.Times {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, t, 10)
	}
	return append(b, "]"+rateSuffix...)
}
