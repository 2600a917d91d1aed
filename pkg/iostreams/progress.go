package iostreams

import (
	"fmt"
	"strings"
	"time"
)

// Progress draws a progress bar on stderr when stderr is a terminal, and
// nothing otherwise. It redraws at most every 50 ms.
type Progress struct {
	s       *IOStreams
	label   string
	total   int
	done    int
	failed  int
	last    time.Time
	enabled bool
}

// NewProgress starts a progress bar of total steps.
func (s *IOStreams) NewProgress(label string, total int) *Progress {
	return &Progress{s: s, label: label, total: total, enabled: s.stderrTTY && total > 0}
}

// Add records n more steps done, failed of which failed.
func (p *Progress) Add(n, failed int) {
	p.done += n
	p.failed += failed
	if !p.enabled {
		return
	}
	if time.Since(p.last) < 50*time.Millisecond && p.done < p.total {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * p.done / p.total
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	extra := ""
	if p.failed > 0 {
		extra = fmt.Sprintf(", %d failed", p.failed)
	}
	fmt.Fprintf(p.s.ErrOut, "\r%s %s %d/%d%s ", p.label, bar, p.done, p.total, extra)
}

// Done clears the bar's line.
func (p *Progress) Done() {
	if p.enabled {
		fmt.Fprint(p.s.ErrOut, "\r\033[K")
	}
}
