package validate

import (
	"strings"
	"testing"
)

// TestServeListenAddr: without --listen, serve-http listens where
// validation.http_base_url's RedirectTo URLs point when that is an IP
// address and a port, and warns when they point at another port than
// the one it listens on (docs tester: they reached nothing, unwarned),
// or at https (verification tester); an address taken from the
// configuration is said even with -q (review).
func TestServeListenAddr(t *testing.T) {
	for _, c := range []struct {
		base   string
		listen string
		given  bool
		addr   string
		note   string
	}{
		{"", "127.0.0.1:8080", false, "127.0.0.1:8080", ""},
		{"http://127.0.0.1:18081", "127.0.0.1:8080", false, "127.0.0.1:18081", "listening on 127.0.0.1:18081, the address of validation.http_base_url"},
		{"http://[::1]:18081/v", "127.0.0.1:8080", false, "[::1]:18081", "listening on [::1]:18081"},
		{"https://127.0.0.1:18185", "127.0.0.1:8080", false, "127.0.0.1:8080", "serves plain HTTP: put a TLS proxy in front"},
		{"http://127.0.0.1:18081", "127.0.0.1:9000", true, "127.0.0.1:9000", "listens on port 9000"},
		{"http://validation.example.test/", "127.0.0.1:8080", false, "127.0.0.1:8080", "give --listen with port 80"},
		{"http://validation.example.test:8080/", "127.0.0.1:8080", false, "127.0.0.1:8080", ""},
		{"http://127.0.0.1", "127.0.0.1:8080", false, "127.0.0.1:8080", "give --listen with port 80"},
	} {
		o := &ServeOptions{Listen: c.listen, ListenGiven: c.given, BaseURL: c.base}
		addr, note := o.listenAddr()
		if addr != c.addr || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s (--listen %s given %v): %s %q, want %s %q", c.base, c.listen, c.given, addr, note, c.addr, c.note)
		}
	}
}
