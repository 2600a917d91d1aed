package cmdutil

import (
	"fmt"
	"time"

	"github.com/certctl/certctl/pkg/iostreams"
)

// BulkProgress shows a long bulk operation's progress as the terminal's
// status line (iostreams.ShowStatus): "revoking 12000/100000
// certificates", once the operation has run progressAfter (a short one
// shows nothing), then at most every progressEvery or every hundredth of
// the selection, erased when the operation is done with or Clear is
// called, and by anything else written to stderr meanwhile. A nil
// *BulkProgress (-q, stderr not a terminal, TERM=dumb) shows nothing; its
// methods may be called all the same.
type BulkProgress struct {
	io      *iostreams.IOStreams
	verb    string
	unit    string // "certificates", "files"
	failed  int
	now     func() time.Time
	start   time.Time
	last    time.Time
	printed int
}

const (
	progressAfter = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// NewBulkProgress returns the progress line of a bulk operation doing verb
// ("revoking"), or nil where none is shown.
func NewBulkProgress(io *iostreams.IOStreams, quiet bool, verb string) *BulkProgress {
	if quiet || !io.CanShowStatus() {
		return nil
	}
	return &BulkProgress{io: io, verb: verb, unit: "certificates", now: time.Now, start: time.Now()}
}

// NewFileProgress is NewBulkProgress counting files (import --from-dir's:
// "importing 120/1200 files, 3 failed").
func NewFileProgress(io *iostreams.IOStreams, quiet bool, verb string) *BulkProgress {
	p := NewBulkProgress(io, quiet, verb)
	if p != nil {
		p.unit = "files"
	}
	return p
}

// Failed counts one more step that failed, told with the next line.
func (p *BulkProgress) Failed() {
	if p != nil {
		p.failed++
	}
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
	if t.Sub(p.start) < progressAfter {
		return
	}
	// Changes are committed in batches, whose certificates are done with
	// all at once: a step of a hundredth is drawn even within 100 ms, so
	// that the line does not stay at the first of a batch.
	if t.Sub(p.last) < progressEvery && done-p.printed < max(1, total/100) {
		return
	}
	p.last, p.printed = t, done
	line := fmt.Sprintf("%s %d/%d %s", p.verb, done, total, p.unit)
	if p.failed > 0 {
		line += fmt.Sprintf(", %d failed", p.failed)
	}
	p.io.ShowStatus(line)
}

// Clear erases the progress line, if one is shown (the streams know).
func (p *BulkProgress) Clear() {
	if p != nil {
		p.io.ShowStatus("")
	}
}
