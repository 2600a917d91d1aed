package shellarg

import (
	"os/exec"
	"testing"
)

// TestQuote: what Quote returns, given to sh, is the word itself.
func TestQuote(t *testing.T) {
	for _, s := range []string{"plain/path.crt", "", "with space", "it's", `a"b`, "$HOME", "a;b", "*", "x\ny", "postgres://u:p@h/db?sslmode=disable&x=1"} {
		out, err := exec.Command("sh", "-c", `printf %s `+Quote(s)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", Quote(s), err)
		}
		if string(out) != s {
			t.Errorf("Quote(%q) = %q, which sh reads as %q", s, Quote(s), out)
		}
	}
	if Quote("plain/path.crt") != "plain/path.crt" {
		t.Errorf("a plain word is quoted: %q", Quote("plain/path.crt"))
	}
}
