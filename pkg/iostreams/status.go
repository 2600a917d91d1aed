package iostreams

import (
	"io"
	"os"
	"sync"
)

// A status line: one line on a terminal's stderr that a long operation
// rewrites in place (`tagging 24001/100000 certificates`). Whatever else
// is written to ErrOut meanwhile — an error, a hook's output — erases it
// first, so that it starts a line of its own; the operation draws its
// status again at its next step.

// statusWriter is ErrOut where a status line can be drawn.
type statusWriter struct {
	w     io.Writer
	mu    sync.Mutex
	shown bool
}

const eraseLine = "\r\x1b[K"

func (s *statusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown {
		s.shown = false
		if _, err := io.WriteString(s.w, eraseLine); err != nil {
			return 0, err
		}
	}
	return s.w.Write(p)
}

// show draws line as the status line ("": erases the one shown).
func (s *statusWriter) show(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if line == "" && !s.shown {
		return
	}
	io.WriteString(s.w, eraseLine+line) //nolint:errcheck // a status line: a failed write only leaves it out
	s.shown = line != ""
}

// File erases the status line and returns the file written to (nil when
// it is not a file), for a command run with it as its output
// (hookenv.Output): the command then writes to the terminal itself.
func (s *statusWriter) File() *os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.w.(*os.File)
	if !ok {
		return nil
	}
	if s.shown {
		s.shown = false
		io.WriteString(s.w, eraseLine) //nolint:errcheck // as show
	}
	return f
}

// CanShowStatus reports whether a status line is drawn: stderr is a
// terminal that is not TERM=dumb (a pipe, a log file, cron get none).
func (s *IOStreams) CanShowStatus() bool { return s.stderrTTY && !s.dumb }

// ShowStatus draws line as the status line on stderr, or erases it ("");
// it does nothing where CanShowStatus is false.
func (s *IOStreams) ShowStatus(line string) {
	if !s.CanShowStatus() {
		return
	}
	if w := s.StatusWidth(); w > 1 && len(line) >= w {
		// One row: a line the terminal wraps would leave its first row
		// behind when erased (tester, at 60 columns).
		line = line[:w-1]
	}
	if s.status == nil || s.ErrOut != io.Writer(s.status) {
		// Streams whose ErrOut was set after they were made (tests).
		s.status = &statusWriter{w: s.ErrOut}
		s.ErrOut = s.status
	}
	s.status.show(line)
}
