package timeutil

import "time"

// SpanSeconds is to − from in whole seconds, rounded toward zero. Unlike
// time.Time.Sub it has no limit: Sub stops at about 292 years
// (time.Duration's range), so a certificate valid until 9999-12-31 — the
// "no well-defined expiration" date of RFC 5280 4.1.2.5 — counted 106,751
// days to its expiry instead of almost three million.
func SpanSeconds(from, to time.Time) int64 {
	s := to.Unix() - from.Unix()
	switch n := to.Nanosecond() - from.Nanosecond(); {
	case s > 0 && n < 0:
		s--
	case s < 0 && n > 0:
		s++
	}
	return s
}

// WholeDays is to − from in whole days, rounded toward zero, without
// SpanSeconds' limit either.
func WholeDays(from, to time.Time) int64 {
	return SpanSeconds(from, to) / int64(Day/time.Second)
}

// Seconds is to − from in seconds, fraction included, without
// time.Time.Sub's limit of 292 years.
func Seconds(from, to time.Time) float64 {
	return float64(to.Unix()-from.Unix()) + float64(to.Nanosecond()-from.Nanosecond())/1e9
}
