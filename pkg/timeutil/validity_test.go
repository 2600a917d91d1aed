package timeutil

import (
	"testing"
	"time"
)

func TestParseValidity(t *testing.T) {
	issued := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"90d", issued.Add(90 * Day)},
		{"12h", issued.Add(12 * time.Hour)},
		{"2027-06-30T00:00:00Z", time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)},
		{"2027-06-30T02:00:00+02:00", time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)},
		{"Value=3,Type=MONTHS", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}, // Jan 31 + 3 months, normalised as Go's AddDate
		{"Value=3,Type=DAYS", issued.Add(3 * Day)},
		{"Type=YEARS,Value=2", time.Date(2028, 1, 31, 12, 0, 0, 0, time.UTC)},
		{"Value=1782777600,Type=ABSOLUTE", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)},
		{"Value=20270630000000,Type=END_DATE", time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)},
		{"Value=270630000000,Type=END_DATE", time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)},
	} {
		v, err := ParseValidity(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := v.NotAfter(issued); !got.Equal(c.want) {
			t.Errorf("%q: NotAfter %s, want %s", c.in, got, c.want)
		}
		// String reads back to the same validity.
		back, err := ParseValidity(v.String())
		if err != nil || !back.NotAfter(issued).Equal(c.want) {
			t.Errorf("%q: String %q reads back as %v (%v)", c.in, v.String(), back, err)
		}
	}
	for _, bad := range []string{"", "0d", "-5d", "Value=0,Type=DAYS", "Value=3,Type=WEEKS", "Value=x,Type=DAYS",
		"Value=3", "Type=DAYS", "Value=3,Type=DAYS,Value=4", "2027-13-01T00:00:00Z", "Value=2027,Type=END_DATE",
		"Value=99999999999999999999,Type=ABSOLUTE", "Value=999999999,Type=YEARS", "Foo=1,Type=DAYS",
		// Keys and types are exact, as in the AWS CLI.
		"Value=3,Type=days", "value=3,Type=DAYS", "Value=3,type=DAYS"} {
		if _, err := ParseValidity(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseNotBefore(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-06-30T00:00:00Z":           time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
		"Value=1782777600,Type=ABSOLUTE": time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseNotBefore(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "90d", "Value=3,Type=DAYS", "yesterday"} {
		if _, err := ParseNotBefore(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseValidity: no input panics; whatever parses gives a NotAfter
// after the issuance time for relative validities and reads back through
// String.
func FuzzParseValidity(f *testing.F) {
	for _, s := range []string{"90d", "12h", "2027-06-30T00:00:00Z", "Value=3,Type=MONTHS", "Value=1,Type=YEARS",
		"Value=1782777600,Type=ABSOLUTE", "Value=270630000000,Type=END_DATE", "Value=,Type=", "=,="} {
		f.Add(s)
	}
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValidity(s)
		if err != nil {
			return
		}
		if v.IsZero() {
			t.Fatalf("%q parsed to a zero validity", s)
		}
		end := v.NotAfter(issued)
		if v.End.IsZero() && !end.After(issued) {
			t.Fatalf("%q: relative validity ends %s, not after issuance", s, end)
		}
		back, err := ParseValidity(v.String())
		if err != nil {
			t.Fatalf("%q: String %q does not parse: %v", s, v.String(), err)
		}
		if !back.NotAfter(issued).Equal(end) {
			t.Fatalf("%q: String %q ends %s, not %s", s, v.String(), back.NotAfter(issued), end)
		}
		_, _ = ParseNotBefore(s)
	})
}
