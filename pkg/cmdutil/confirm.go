package cmdutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// ConfirmHelp is how the help of a command that asks before acting says
// so: the rule ShouldConfirm and Confirm apply.
const ConfirmHelp = `When stdout or stderr is a terminal, certctl asks before changing
anything and reads the answer from standard input, even a piped one:
anything but y or yes, or no answer at all, changes nothing (exit 5).
--yes skips the question; with no terminal at all (cron, CI) nothing is
asked. A command that reads its own input from standard input (-) needs
--yes on a terminal (exit 2 without it).`

// ShouldConfirm reports whether a command asks before it acts: unless
// --yes (yes), whenever a person may be watching — stdout or stderr is a
// terminal — even when stdin is a pipe. `echo n | certctl delete X` on a
// terminal is an answer, not a licence to go ahead; only a run with no
// terminal at all (cron, CI) goes ahead unasked.
func ShouldConfirm(s *iostreams.IOStreams, yes bool) bool {
	return !yes && s.Attended()
}

// Confirm asks a yes/no question (format, a) and reads the answer from
// stdin, whatever it is: anything but y or yes, or no answer (EOF), is a
// refusal (exit 5) with the message refused (e.g. "not deleted"). Call it
// when ShouldConfirm. The question goes to stderr, or to stdout when only
// stdout is a terminal (2>/dev/null on a terminal), so that whoever
// answers sees it.
//
// When the command read its own input from stdin (a statement, a
// passphrase: IOStreams.StdinTaken), stdin holds no answer: it is refused
// before asking (exit 2), naming --yes. The answer is read a byte at a
// time, up to its newline, so that what follows it in a pipe is left for
// whatever reads stdin next (`… | while read l; do certctl delete …; done`).
func Confirm(s *iostreams.IOStreams, refused, format string, a ...any) error {
	if s.StdinTaken() {
		return errs.UsageErrorf("standard input holds this command's own input, so it cannot also answer whether to go ahead: pass --yes to go ahead without being asked")
	}
	w := promptOut(s)
	fmt.Fprintf(w, format+" [y/N] ", a...)
	// At most 1 KiB: an answer is a word. No answer (end of input) is a
	// refusal.
	ended := false // no answer: the end of input (Ctrl-D)
	b, err := s.Interruptible(func() ([]byte, error) {
		b, newline, _ := iostreams.ReadLineEnd(s.In, 1024)
		ended = !newline
		return b, nil
	})
	if err != nil {
		// Ctrl-C at the question (review), the message on a line of its
		// own (tester: "[y/N] ^Ccertctl: interrupted").
		fmt.Fprintln(w)
		return &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted"}
	}
	line := string(b)
	if !s.IsStdinTTY() || ended {
		// No terminal echoed the answer (or a newline after Ctrl-D):
		// end the question's line.
		fmt.Fprintln(w)
	}
	if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
		return errs.Refusedf("%s", refused).WithHint("answer y to go ahead, or pass --yes to go ahead without being asked")
	}
	return nil
}

// promptOut is where a question and what it is about are written: stderr,
// unless only stdout is a terminal.
func promptOut(s *iostreams.IOStreams) io.Writer {
	if !s.IsStderrTTY() && s.IsStdoutTTY() {
		return s.Out
	}
	return s.ErrOut
}
