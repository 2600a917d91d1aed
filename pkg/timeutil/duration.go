// Package timeutil parses the durations certctl takes (`395d`, `10y`, `72h`)
// and formats times the way certctl prints them.
package timeutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day and Year are the calendar-free units of certctl durations.
const (
	Day  = 24 * time.Hour
	Year = 365 * Day
)

// ParseDuration parses a sequence of decimal numbers each with a unit suffix
// s, m, h, d or y (y = 365 days), such as `395d`, `1y30d` or `90m`. Go's own
// forms (`1h30m`, `500ms`) are accepted too. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if d, err := time.ParseDuration(in); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("negative duration %q", s)
		}
		return d, nil
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("invalid duration %q (use a number and a unit s, m, h, d or y, e.g. 30d)", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		var unit time.Duration
		switch rest[i] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = Day
		case 'y':
			unit = Year
		default:
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q (use s, m, h, d or y)", s, rest[i])
		}
		const max = 1<<63 - 1
		if n > 0 && time.Duration(n) > time.Duration(max)/unit {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		add := time.Duration(n) * unit
		if total > time.Duration(max)-add {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += add
		rest = rest[i+1:]
	}
	return total, nil
}

// FormatDuration renders d in the largest whole unit of d, y, h, m, s.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%Year == 0:
		return fmt.Sprintf("%dy", d/Year)
	case d%Day == 0:
		return fmt.Sprintf("%dd", d/Day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// RFC3339 formats t in UTC, or "" for the zero time.
func RFC3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Relative renders t relative to now for people: "in 12 days", "3 days ago".
func Relative(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	secs := SpanSeconds(now, t) // not t.Sub(now): it stops at 292 years
	past := secs < 0
	if past {
		secs = -secs
	}
	// To the nearest unit, not down (newcomer tester: a certificate of
	// 395 days issued a moment ago expired "in 394 days"), the unit
	// chosen by the rounded count (59.5 minutes is "1 hour").
	var s string
	switch mins, hours := (secs+30)/60, (secs+1800)/3600; {
	case secs < 60:
		return "now"
	case mins < 60:
		s = plural(mins, "minute")
	case hours < 24:
		s = plural(hours, "hour")
	default:
		s = plural(secs/86400+(secs%86400)/43200, "day") // (secs+43200)/86400 without overflow
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
