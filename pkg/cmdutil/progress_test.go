package cmdutil

import (
	"fmt"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/iostreams"
)

// A bulk operation's progress line: nothing while it is short, then one
// line on the terminal's stderr, redrawn after 100 ms or a hundredth of
// the selection, erased when the operation is done with and by anything
// else written to stderr meanwhile (a hook's output); nothing at all with
// -q, stderr not a terminal or TERM=dumb.
func TestBulkProgress(t *testing.T) {
	io, _, _, stderr := iostreams.Test()
	io.SetTTYs(false, true, true)
	p := NewBulkProgress(io, false, "revoking")
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := t0
	p.now, p.start = func() time.Time { return at }, t0

	p.Advanced(1, 1000)
	at = t0.Add(400 * time.Millisecond)
	p.Advanced(2, 1000)
	if stderr.Len() != 0 {
		t.Fatalf("a short operation showed %q", stderr)
	}
	at = t0.Add(600 * time.Millisecond)
	p.Advanced(3, 1000)
	at = t0.Add(650 * time.Millisecond)
	p.Advanced(12, 1000) // within 100 ms, and less than a hundredth on: not drawn
	p.Advanced(13, 1000) // a hundredth on: drawn
	fmt.Fprintln(io.ErrOut, "hook: Certificate Available")
	at = t0.Add(760 * time.Millisecond)
	p.Advanced(14, 1000)
	p.Advanced(1000, 1000)
	const want = "\r\x1b[Krevoking 3/1000 certificates\r\x1b[Krevoking 13/1000 certificates\r\x1b[Khook: Certificate Available\n" +
		"\r\x1b[Krevoking 14/1000 certificates\r\x1b[K"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q,\nwant   %q", got, want)
	}
	stderr.Reset()
	p.Clear() // already erased
	fmt.Fprint(io.ErrOut, "x")
	if got := stderr.String(); got != "x" {
		t.Errorf("after the end, stderr %q, want only what was written", got)
	}

	for _, c := range []struct {
		name          string
		quiet, stderr bool
		dumb          bool
	}{{"-q", true, true, false}, {"stderr not a terminal", false, false, false}, {"TERM=dumb", false, true, true}} {
		io, _, _, stderr := iostreams.Test()
		io.SetTTYs(true, true, c.stderr)
		io.SetDumbTerminal(c.dumb)
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

// TestFileProgress: import --from-dir's progress is the bulk commands'
// status line, counting files and the failed ones, cut to one row of the
// terminal, and absent with -q or TERM=dumb (tester: a bar was drawn
// there, and at 60 columns it wrapped and left rows behind).
func TestFileProgress(t *testing.T) {
	io, _, _, stderr := iostreams.Test()
	io.SetTTYs(false, true, true)
	io.SetTerminalWidth(30)
	p := NewFileProgress(io, false, "importing")
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	p.now, p.start = func() time.Time { return t0.Add(time.Second) }, t0
	p.Failed()
	p.Advanced(7, 1200)
	if got, want := stderr.String(), "\r\x1b[Kimporting 7/1200 files, 1 fai"; got != want {
		t.Errorf("stderr %q, want %q (29 columns)", got, want)
	}
	for _, c := range []struct {
		quiet, dumb bool
	}{{true, false}, {false, true}} {
		io, _, _, stderr := iostreams.Test()
		io.SetTTYs(true, true, true)
		io.SetDumbTerminal(c.dumb)
		p := NewFileProgress(io, c.quiet, "importing")
		p.Failed()
		p.Advanced(1, 2)
		p.Clear()
		if p != nil || stderr.Len() != 0 {
			t.Errorf("-q %v, TERM=dumb %v: %v, stderr %q", c.quiet, c.dumb, p, stderr)
		}
	}
}
