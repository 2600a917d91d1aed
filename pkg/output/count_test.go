package output

import "testing"

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 certificates", 1: "1 certificate", 2: "2 certificates"} {
		if got := Count(n, "certificate"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
