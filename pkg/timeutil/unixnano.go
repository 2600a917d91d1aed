package timeutil

import (
	"math"
	"time"
)

// The times int64 Unix nanoseconds can hold: 1677-09-21 to 2262-04-11.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// UnixNano is t as Unix nanoseconds, as t.UnixNano() is, but clamped to
// the int64 range instead of wrapping around it: a certificate valid until
// 9999-12-31T23:59:59Z (RFC 5280's "no well-defined expiration date")
// sorts and compares after every time the range holds, not in 1816. Times
// beyond the range compare equal to each other.
func UnixNano(t time.Time) int64 {
	switch {
	case t.After(maxNanoTime):
		return math.MaxInt64
	case t.Before(minNanoTime):
		return math.MinInt64
	}
	return t.UnixNano()
}
