package cmdutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestShouldConfirm: a command asks whenever stdout or stderr is a
// terminal, whatever stdin is; never with --yes, nor with no terminal.
func TestShouldConfirm(t *testing.T) {
	for _, c := range []struct {
		in, out, errOut, yes, want bool
	}{
		{true, true, true, false, true},
		{false, true, true, false, true}, // echo n | certctl delete X
		{false, true, false, false, true},
		{false, false, true, false, true},
		{true, false, false, false, false}, // nobody sees a question
		{false, false, false, false, false},
		{true, true, true, true, false},
		{false, true, true, true, false},
	} {
		s, _, _, _ := iostreams.Test()
		s.SetTTYs(c.in, c.out, c.errOut)
		if got := ShouldConfirm(s, c.yes); got != c.want {
			t.Errorf("stdin %v stdout %v stderr %v --yes %v: %v, want %v", c.in, c.out, c.errOut, c.yes, got, c.want)
		}
	}
}

// TestConfirmPipedAnswer: the answer is read from stdin, a pipe too:
// only y or yes goes ahead; n, anything else or no answer is refused
// (exit 5). The question goes to stderr, or to stdout when only stdout
// is a terminal.
func TestConfirmPipedAnswer(t *testing.T) {
	for _, c := range []struct {
		answer string
		ok     bool
	}{
		{"y\n", true}, {"YES\n", true}, {" yes ", true},
		{"n\n", false}, {"", false}, {"\n", false}, {"yep\n", false},
	} {
		s, in, out, errOut := iostreams.Test()
		s.SetTTYs(false, true, true)
		in.WriteString(c.answer)
		err := Confirm(s, "not deleted", "Delete %s?", "x")
		if c.ok != (err == nil) || (err != nil && (errs.ExitCodeOf(err) != errs.ExitRefused || err.Error() != "not deleted")) {
			t.Errorf("answer %q: %v", c.answer, err)
		}
		if errOut.String() != "Delete x? [y/N] \n" || out.Len() != 0 {
			t.Errorf("answer %q: stderr %q, stdout %q", c.answer, errOut, out)
		}
	}
	s, in, out, errOut := iostreams.Test()
	s.SetTTYs(false, true, false)
	in.WriteString("n\n")
	if err := Confirm(s, "not deleted", "Delete %s?", "x"); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("only stdout a terminal: %v", err)
	}
	if !strings.HasPrefix(out.String(), "Delete x? [y/N]") || errOut.Len() != 0 {
		t.Errorf("only stdout a terminal: stdout %q, stderr %q", out, errOut)
	}
}

// TestConfirmStdinTaken: a command that read its own input from stdin is
// refused before asking (exit 2), naming --yes; nothing is written.
func TestConfirmStdinTaken(t *testing.T) {
	s, in, out, errOut := iostreams.Test()
	s.SetTTYs(false, true, true)
	in.WriteString("y\n")
	if _, err := ReadFileArg(s, "filter-statement", "-"); err != nil {
		t.Fatal(err)
	}
	err := Confirm(s, "not deleted", "Delete %s?", "x")
	if errs.ExitCodeOf(err) != errs.ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("stdin taken: %v", err)
	}
	if out.Len() != 0 || errOut.Len() != 0 {
		t.Errorf("asked anyway: stdout %q, stderr %q", out, errOut)
	}
}

// TestConfirmReadsOneLine: the answer is read up to its newline, leaving
// the rest of a pipe unread.
func TestConfirmReadsOneLine(t *testing.T) {
	s, in, _, _ := iostreams.Test()
	s.SetTTYs(false, true, true)
	in.WriteString("y\nnext line\n")
	if err := Confirm(s, "not deleted", "Delete %s?", "x"); err != nil {
		t.Fatal(err)
	}
	if in.String() != "next line\n" {
		t.Errorf("left in stdin: %q", in.String())
	}
}

// TestStdinByAnotherName: a file argument that is stdin under another
// name (/dev/stdin) takes stdin as "-" does.
func TestStdinByAnotherName(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.WriteString("secret\n"); w.Close() }()
	s, _, _, _ := iostreams.Test()
	s.In = r
	if _, err := ReadFileArg(s, "vault-passphrase-file", fmt.Sprintf("/dev/fd/%d", r.Fd())); err != nil {
		t.Fatal(err)
	}
	if !s.StdinTaken() {
		t.Error("reading stdin through /dev/fd did not take it")
	}
	other := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, _, _, _ := iostreams.Test()
	s2.In = r
	if _, err := ReadFileArg(s2, "vault-passphrase-file", other); err != nil || s2.StdinTaken() {
		t.Errorf("another file took stdin: %v", err)
	}
}

// TestConfirmEndOfInputOnTerminal: Ctrl-D at the question on a terminal
// (which echoes no newline) ends the question's line, so that the refusal
// is on a line of its own (tester: "[y/N] certctl: …"); an answer the
// terminal echoed with its newline adds none.
func TestConfirmEndOfInputOnTerminal(t *testing.T) {
	for _, c := range []struct {
		answer, want string
	}{{"", "Delete x? [y/N] \n"}, {"n", "Delete x? [y/N] \n"}, {"n\n", "Delete x? [y/N] "}} {
		s, in, _, errOut := iostreams.Test()
		s.SetTTYs(true, true, true)
		in.WriteString(c.answer)
		if err := Confirm(s, "not deleted", "Delete %s?", "x"); errs.ExitCodeOf(err) != errs.ExitRefused {
			t.Errorf("answer %q: %v", c.answer, err)
		}
		if errOut.String() != c.want {
			t.Errorf("answer %q: stderr %q, want %q", c.answer, errOut, c.want)
		}
	}
}
