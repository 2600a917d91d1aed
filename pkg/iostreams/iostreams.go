// Package iostreams is the one place that decides whether certctl talks to a
// terminal, whether it may use colour, and how wide the terminal is.
package iostreams

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// IOStreams are the three standard streams plus what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	width     int
	errWidth  int // stderr's terminal's, for the status line (0: width)
	// dumb: TERM=dumb, a terminal that shows escape sequences as text
	// (Emacs's shell buffer, a CI log viewer): no spinner is drawn.
	dumb bool
	// stdinTaken: the command reads its own input from stdin (a file
	// argument "-"), which then cannot also answer a question.
	stdinTaken bool

	// ReadPassword reads a line from the terminal without echo. Tests replace it.
	ReadPassword func() ([]byte, error)

	// interrupted is closed at the first interruption (SetInterrupt).
	interrupted <-chan struct{}
	// status is ErrOut where a status line can be drawn (status.go).
	status *statusWriter
}

// SetInterrupt gives the streams the channel closed at the process's
// first interruption (Ctrl-C, SIGTERM), which ends a read of input still
// waiting (cmdutil.ReadFileArg).
func (s *IOStreams) SetInterrupt(done <-chan struct{}) { s.interrupted = done }

// Interrupted is the channel SetInterrupt gave (nil: none).
func (s *IOStreams) Interrupted() <-chan struct{} { return s.interrupted }

// ErrInterrupted is what a read that the interruption ended returns: the
// command was interrupted (context.Canceled: exit 1).
var ErrInterrupted = fmt.Errorf("interrupted while waiting for input: %w", context.Canceled)

// Interruptible runs read, which waits for input (stdin, a named pipe, a
// prompt's answer), and gives up at the process's first interruption
// with ErrInterrupted, leaving read behind: Go takes the first Ctrl-C or
// SIGTERM for certctl to stop cleanly, so a read nobody answers would
// otherwise only end at a second one (tester, review).
// Nil streams (a caller without any) just read.
func (s *IOStreams) Interruptible(read func() ([]byte, error)) ([]byte, error) {
	if s == nil || s.interrupted == nil {
		return read()
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-s.interrupted:
		select {
		case r := <-done: // read already, as the interruption came
			return r.b, r.err
		default:
		}
		return nil, ErrInterrupted
	}
}

// System returns streams bound to the process's stdin, stdout and stderr.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, width: 80}
	force := os.Getenv("CERTCTL_FORCE_TTY")
	if force != "" && force != "0" && force != "false" {
		s.stdinTTY, s.stdoutTTY, s.stderrTTY = true, true, true
		if w, err := strconv.Atoi(force); err == nil && w > 1 {
			s.width = w
		}
	} else {
		s.stdinTTY = term.IsTerminal(int(os.Stdin.Fd()))
		s.stdoutTTY = term.IsTerminal(int(os.Stdout.Fd()))
		s.stderrTTY = term.IsTerminal(int(os.Stderr.Fd()))
		if s.stdoutTTY {
			w, _, err := term.GetSize(int(os.Stdout.Fd()))
			if err != nil {
				w = 0
			}
			s.width = terminalWidth(w, os.Getenv("COLUMNS"))
		}
		if s.stderrTTY {
			// The status line's own terminal: stdout may be a file
			// (tester: `import --from-dir … > out.json` on 20 columns
			// drew a line 80 wide, which wrapped).
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				w = 0
			}
			s.errWidth = terminalWidth(w, os.Getenv("COLUMNS"))
		}
	}
	s.color = colorWanted(s.stdoutTTY, os.Getenv)
	s.dumb = os.Getenv("TERM") == "dumb"
	if s.CanShowStatus() {
		// Every write to stderr, a hook's output included, erases a
		// status line first (status.go).
		s.status = &statusWriter{w: os.Stderr}
		s.ErrOut = s.status
	}
	fd := int(os.Stdin.Fd())
	s.ReadPassword = func() ([]byte, error) { return readPassword(fd, s.Interruptible) }
	return s
}

// terminalWidth is the width of a terminal the system says is size
// columns wide: that, or when it does not know (0: a pseudo-terminal
// nobody sized, as script(1) makes), COLUMNS as the shell exports it, or
// 80.
func terminalWidth(size int, columns string) int {
	if size > 0 {
		return size
	}
	if w, err := strconv.Atoi(columns); err == nil && w > 1 {
		return w
	}
	return 80
}

// colorWanted applies NO_COLOR, CLICOLOR=0, CLICOLOR_FORCE and TERM=dumb:
// a dumb terminal (Emacs's shell buffer, a CI log viewer) shows escape
// sequences as text, so it gets none unless CLICOLOR_FORCE asks for them.
func colorWanted(tty bool, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("CLICOLOR") == "0" || getenv("TERM") == "dumb" {
		return false
	}
	return tty
}

// Test returns streams over buffers: stdin, stdout, stderr. They are not
// terminals until SetTTY, and 80 columns wide until SetTerminalWidth.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	s := &IOStreams{In: in, Out: out, ErrOut: errOut, width: 80}
	s.ReadPassword = func() ([]byte, error) { return nil, io.EOF }
	return s, in, out, errOut
}

// SetTTY marks all three streams as terminals (or not), for tests.
func (s *IOStreams) SetTTY(tty bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = tty, tty, tty
}

// SetTTYs marks each stream as a terminal or not, for tests.
func (s *IOStreams) SetTTYs(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetTerminalWidth sets the width of the terminal, for tests.
func (s *IOStreams) SetTerminalWidth(w int) { s.width, s.errWidth = w, w }

// SetColorEnabled turns colour on or off.
func (s *IOStreams) SetColorEnabled(on bool) { s.color = on }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorEnabled reports whether output may carry colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// ToStderr is s with its standard error in the standard output's place,
// as a terminal or not, with its width: the streams of what a command
// reports on stderr because its stdout carries its product (a backup
// written with --out-file -). Colour only where stderr is a terminal.
func (s *IOStreams) ToStderr() *IOStreams {
	c := *s
	c.Out, c.stdoutTTY, c.width = s.ErrOut, s.stderrTTY, s.StatusWidth()
	c.color = s.color && s.stderrTTY
	return &c
}

// TakeStdin notes that the command reads its own input from stdin.
func (s *IOStreams) TakeStdin() { s.stdinTaken = true }

// StdinTaken reports whether the command reads its own input from stdin
// (TakeStdin), so that stdin holds no answer to a question.
func (s *IOStreams) StdinTaken() bool { return s.stdinTaken }

// CanPrompt reports whether the user can be asked a question on the
// terminal itself, such as a passphrase read without echo.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// Attended reports whether a person may be watching: stdout or stderr is
// a terminal, whatever stdin is.
func (s *IOStreams) Attended() bool { return s.stdoutTTY || s.stderrTTY }

// TerminalWidth is the width of the terminal, 80 when unknown.
func (s *IOStreams) TerminalWidth() int { return s.width }

// StatusWidth is the width of stderr's terminal, where the status line is
// shown: TerminalWidth when it is not known apart.
func (s *IOStreams) StatusWidth() int {
	if s.errWidth > 0 {
		return s.errWidth
	}
	return s.width
}
