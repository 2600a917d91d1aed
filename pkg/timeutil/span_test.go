package timeutil

import (
	"testing"
	"time"
)

func TestSpanSeconds(t *testing.T) {
	base := time.Date(2026, 12, 6, 10, 0, 0, 700_000_000, time.UTC)
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	for _, c := range []struct {
		from, to time.Time
		secs     int64
		days     int64
		seconds  float64
	}{
		{base, base, 0, 0, 0},
		{base, base.Add(1500 * time.Millisecond), 1, 0, 1.5},
		{base.Add(1500 * time.Millisecond), base, -1, 0, -1.5},
		{base, base.Add(300 * time.Millisecond), 0, 0, 0.3},
		{base, base.Add(-300 * time.Millisecond), 0, 0, -0.3},
		{base, base.Add(36*time.Hour + 999*time.Millisecond), 129600, 1, 129600.999},
		{base, base.Add(-49 * time.Hour), -176400, -2, -176400},
		// Beyond time.Duration's 292 years, which Sub saturates at.
		{base, far, 251605749598, 2912103, 251605749598.3},
		{far, base, -251605749598, -2912103, -251605749598.3},
	} {
		if got := SpanSeconds(c.from, c.to); got != c.secs {
			t.Errorf("SpanSeconds(%v, %v) = %d, want %d", c.from, c.to, got, c.secs)
		}
		if got := WholeDays(c.from, c.to); got != c.days {
			t.Errorf("WholeDays(%v, %v) = %d, want %d", c.from, c.to, got, c.days)
		}
		if got := Seconds(c.from, c.to); got-c.seconds > 1e-3 || c.seconds-got > 1e-3 {
			t.Errorf("Seconds(%v, %v) = %v, want %v", c.from, c.to, got, c.seconds)
		}
	}
}

func TestRelativeFar(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	if got := Relative(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), now); got != "in 2912104 days" { // 2912103 days and 14 hours
		t.Errorf("9999-12-31: %q", got)
	}
	if got := Relative(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), now); got != "739954 days ago" {
		t.Errorf("0001-01-02: %q", got)
	}
	if got := Relative(now.Add(90*time.Minute), now); got != "in 2 hours" { // to the nearest hour, a half up
		t.Errorf("90 minutes: %q", got)
	}
}

// TestParseRFC3339Offset: an offset RFC 3339 does not allow (hours over
// 23, minutes over 59) is refused; Go's parser read +24:00 as a day's
// shift (tester).
func TestParseRFC3339Offset(t *testing.T) {
	for s, ok := range map[string]bool{
		"2026-12-05T10:05:58Z":      true,
		"2026-12-05T10:05:58+23:59": true,
		"2026-12-05T10:05:58-05:00": true,
		"2026-12-05T10:05:58+24:00": false,
		"2026-12-05T10:05:58-24:00": false,
		"2026-12-05T10:05:58+05:60": false,
		"2026-12-05":                false,
		"2026-12-05t10:05:58z":      true, // RFC 3339 allows lower case
		"2026-12-05T10:05:58.5z":    true,
	} {
		if _, err := ParseRFC3339(s); (err == nil) != ok {
			t.Errorf("%s: %v, want accepted %v", s, err, ok)
		}
	}
	if _, err := ParseSince("2026-12-05T10:05:58+24:00", time.Now()); err == nil {
		t.Error("ParseSince took +24:00")
	}
}
