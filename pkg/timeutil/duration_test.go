package timeutil

import (
	"math"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"395d", 395 * Day, true},
		{"10y", 10 * Year, true},
		{"1y30d", Year + 30*Day, true},
		{"72h", 72 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"45s", 45 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"", 0, false},
		{"d", 0, false},
		{"30", 0, false},
		{"30w", 0, false},
		{"-5d", 0, false},
		{"99999999999999999y", 0, false},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseDuration(%q) error = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && got != c.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestFormatDurationRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{Year, 395 * Day, 5 * time.Hour, 7 * time.Minute, 3 * time.Second} {
		got, err := ParseDuration(FormatDuration(d))
		if err != nil || got != d {
			t.Errorf("round trip of %v: got %v, %v", d, got, err)
		}
	}
}

func TestRelative(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Relative(now.Add(12*Day+time.Hour), now); got != "in 12 days" {
		t.Errorf("got %q", got)
	}
	if got := Relative(now.Add(-Day), now); got != "1 day ago" {
		t.Errorf("got %q", got)
	}
	// To the nearest unit (tester: 395 days less a moment was "in 394
	// days").
	for d, want := range map[time.Duration]string{
		395*Day - time.Minute:           "in 395 days",
		395*Day - 13*time.Hour:          "in 394 days",
		-(2*Day + 13*time.Hour):         "3 days ago",
		23*time.Hour + 31*time.Minute:   "in 1 day",
		23*time.Hour + 29*time.Minute:   "in 23 hours",
		59*time.Minute + 31*time.Second: "in 1 hour",
		90 * time.Second:                "in 2 minutes",
		59 * time.Second:                "now",
	} {
		if got := Relative(now.Add(d), now); got != want {
			t.Errorf("Relative(now + %v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"395d", "1y30d", "72h", "1h30m", "-1s", "9223372036854775807s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2030-01-02T03:04:05Z": time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.Add(-7 * Day),
		"2030-01-02":           time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), // a date: its midnight UTC (tester)
	} {
		if got, err := ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2030-01-32", "2030-1-2"} {
		if _, err := ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}
}

func TestUnixNanoClamps(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()},
		{time.Unix(0, math.MaxInt64), math.MaxInt64},
		{time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), math.MaxInt64},
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
		{time.Unix(0, math.MinInt64), math.MinInt64},
	} {
		if got := UnixNano(tc.t); got != tc.want {
			t.Errorf("UnixNano(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
