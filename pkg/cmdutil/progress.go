package cmdutil

import (
	"fmt"
	"time"

	"github.com/certctl/certctl/pkg/iostreams"
)

// BulkProgress shows a long bulk operation's progress on a terminal: one
// line on stderr, "revoking 12000/100000 certificates", rewritten in place
// at most every progressEvery once the operation has run progressAfter
// (a short one shows nothing), and erased when the operation is done with
// or Clear is called. A nil *BulkProgress (stderr not a terminal, -q)
// shows nothing; its methods may be called all the same.
type BulkProgress struct {
	io    *iostreams.IOStreams
	verb  string
	now   func() time.Time
	start time.Time
	last  time.Time
	shown bool
}

const (
	progressAfter = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// NewBulkProgress returns the progress line of a bulk operation doing verb
// ("revoking"), or nil where none is shown: quiet, or stderr not a
// terminal (a pipe, cron, CI).
func NewBulkProgress(io *iostreams.IOStreams, quiet bool, verb string) *BulkProgress {
	if quiet || !io.IsStderrTTY() {
		return nil
	}
	return &BulkProgress{io: io, verb: verb, now: time.Now, start: time.Now()}
}

// Advanced is certificates.BulkOptions.Progress: done of total are done
// with.
func (p *BulkProgress) Advanced(done, total int) {
	if p == nil {
		return
	}
	if done >= total {
		p.Clear()
		return
	}
	t := p.now()
	if t.Sub(p.start) < progressAfter || t.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.shown = t, true
	fmt.Fprintf(p.io.ErrOut, "\r\x1b[K%s %d/%d certificates", p.verb, done, total)
}

// Clear erases the progress line, if one is shown.
func (p *BulkProgress) Clear() {
	if p == nil || !p.shown {
		return
	}
	p.shown = false
	fmt.Fprint(p.io.ErrOut, "\r\x1b[K")
}
