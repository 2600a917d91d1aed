package acmestate

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
	"time"
)

// TestCertID: RFC 9773 4.1's example, and the refusals.
func TestCertID(t *testing.T) {
	// RFC 9773 section 4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
	// serial 00:87:65:43:21.
	const example = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
	id, err := ParseCertID(example)
	if err != nil {
		t.Fatal(err)
	}
	if id.Serial.Cmp(big.NewInt(0x87654321)) != 0 || len(id.AKI) != 20 || id.AKI[0] != 0x69 {
		t.Errorf("parsed %x %s", id.AKI, id.Serial)
	}
	if id.String() != example {
		t.Errorf("String() = %q, want %q", id.String(), example)
	}
	for _, bad := range []string{"", ".", "aYhb", "aYhb.", ".AQ", "aYhb.AQ.AQ", "aYhb=.AQ", "aYhb.AQ==", "aY+b.AQ",
		"aYhb.gA", "aYhb.AAE", "aYhb.AA", "aYhb." + "AQEBAQEBAQEBAQEBAQEBAQEBAQEB"} {
		if _, err := ParseCertID(bad); !errors.Is(err, ErrBadCertID) {
			t.Errorf("ParseCertID(%q) = %v, want ErrBadCertID", bad, err)
		}
	}
}

func TestSuggestedWindow(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := nb.Add(90 * 24 * time.Hour)
	s, e := SuggestedWindow(nb, na, time.Time{})
	if s.Before(na.Add(-30*24*time.Hour)) || !e.After(s) || e.After(na) {
		t.Errorf("window %s – %s", s, e)
	}
	rev := nb.Add(time.Hour)
	if s, e = SuggestedWindow(nb, na, rev); !e.Before(rev) || !s.Before(e) {
		t.Errorf("revoked window %s – %s", s, e)
	}
	// Exactly two thirds and eight ninths of 90 days.
	if s, e = SuggestedWindow(nb, na, time.Time{}); !s.Equal(nb.Add(60*24*time.Hour)) || !e.Equal(nb.Add(80*24*time.Hour)) {
		t.Errorf("90 days: %s – %s", s, e)
	}
	// Lifetimes whose eight ninths overflowed time.Duration (40 years),
	// and beyond its 292 years (9999-12-31): the window is still in the
	// last third, not in the past (review).
	for _, na := range []time.Time{nb.AddDate(40, 0, 0), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		s, e := SuggestedWindow(nb, na, time.Time{})
		third := time.Unix(nb.Unix()+(na.Unix()-nb.Unix())*2/3, 0).UTC()
		if !s.Equal(third) || !e.After(s) || !e.Before(na) {
			t.Errorf("valid until %s: window %s – %s, want from %s", na, s, e, third)
		}
	}
}

// FuzzParseCertID: ParseCertID never panics, and what it accepts prints
// back the same.
func FuzzParseCertID(f *testing.F) {
	for _, s := range []string{"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", "AQ.AQ", "a.b.c", "", ".", "AQ.gA", "AQ.AAE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseCertID(s)
		if err != nil {
			return
		}
		if id.Serial.Sign() <= 0 || len(id.AKI) == 0 {
			t.Fatalf("ParseCertID(%q) accepted %x %s", s, id.AKI, id.Serial)
		}
		if id.String() != s {
			t.Fatalf("ParseCertID(%q).String() = %q", s, id.String())
		}
		again, err := ParseCertID(id.String())
		if err != nil || !bytes.Equal(again.AKI, id.AKI) || again.Serial.Cmp(id.Serial) != 0 {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}
