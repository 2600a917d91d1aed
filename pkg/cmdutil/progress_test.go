package cmdutil

import (
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/iostreams"
)

// A bulk operation's progress line: nothing while it is short, then one
// line on the terminal's stderr rewritten at most every 100 ms, erased when
// the operation is done with; nothing at all with -q or stderr not a
// terminal.
func TestBulkProgress(t *testing.T) {
	io, _, _, stderr := iostreams.Test()
	io.SetTTYs(false, true, true)
	p := NewBulkProgress(io, false, "revoking")
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := t0
	p.now, p.start = func() time.Time { return at }, t0

	p.Advanced(1, 10)
	at = t0.Add(400 * time.Millisecond)
	p.Advanced(2, 10)
	if stderr.Len() != 0 {
		t.Fatalf("a short operation showed %q", stderr)
	}
	at = t0.Add(600 * time.Millisecond)
	p.Advanced(3, 10)
	at = t0.Add(650 * time.Millisecond)
	p.Advanced(4, 10) // within 100 ms of the last line: not shown
	at = t0.Add(710 * time.Millisecond)
	p.Advanced(5, 10)
	p.Advanced(10, 10)
	const want = "\r\x1b[Krevoking 3/10 certificates\r\x1b[Krevoking 5/10 certificates\r\x1b[K"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	stderr.Reset()
	p.Clear() // already erased
	if stderr.Len() != 0 {
		t.Errorf("Clear after the end wrote %q", stderr)
	}

	for _, c := range []struct {
		name   string
		quiet  bool
		stderr bool
	}{{"-q", true, true}, {"stderr not a terminal", false, false}} {
		io, _, _, stderr := iostreams.Test()
		io.SetTTYs(true, true, c.stderr)
		p := NewBulkProgress(io, c.quiet, "tagging")
		if p != nil {
			t.Errorf("%s: a progress line", c.name)
		}
		p.Advanced(1, 2) // a nil progress takes calls and shows nothing
		p.Clear()
		if stderr.Len() != 0 {
			t.Errorf("%s: stderr %q", c.name, stderr)
		}
	}
}
