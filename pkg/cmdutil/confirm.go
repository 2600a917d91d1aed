package cmdutil

import (
	"bufio"
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
asked.`

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
func Confirm(s *iostreams.IOStreams, refused, format string, a ...any) error {
	w := promptOut(s)
	fmt.Fprintf(w, format+" [y/N] ", a...)
	line, _ := bufio.NewReader(s.In).ReadString('\n')
	if !s.IsStdinTTY() {
		// No terminal echoed the answer: end the question's line.
		fmt.Fprintln(w)
	}
	if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
		return errs.Refusedf("%s", refused)
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
