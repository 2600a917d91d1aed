package httpserve

import (
	"errors"
	"log"
	"regexp"
	"strings"
	"testing"
)

// TestLog: a server's log is dated in UTC to the microsecond, whatever the
// host's time zone (tester: local time without a zone), and an entry whose
// error joins several is one line (tester: the driver's lines came out
// bare, without date or prefix).
func TestLog(t *testing.T) {
	var b strings.Builder
	l := NewLog(&b)
	if l.Flags()&log.LUTC == 0 || l.Flags()&log.Lmicroseconds == 0 {
		t.Errorf("flags %b", l.Flags())
	}
	l.Printf("acme: store unavailable: %v", errors.Join(errors.New("timeout"), errors.New("conn closed")))
	l.Printf("acme: one")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	dated := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} acme: `)
	if len(lines) != 2 || !dated.MatchString(lines[0]) || !dated.MatchString(lines[1]) ||
		!strings.HasSuffix(lines[0], "store unavailable: timeout | conn closed") {
		t.Errorf("log:\n%s", b.String())
	}
}
