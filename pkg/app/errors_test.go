package app_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestJSONErrorEveryOutputForm: a flag error stops parsing before -o is
// read, and the JSON error object is still printed whichever form -o json
// takes on the command line.
func TestJSONErrorEveryOutputForm(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, form := range [][]string{
		{"-o", "json"}, {"-ojson"}, {"-o=json"}, {"--output", "json"}, {"--output=json"}, {"-qo", "json"}, {"-qojson"},
	} {
		for _, before := range []bool{true, false} {
			args := []string{"describe", "00000000", "--bogus"}
			// Cobra finds the command by skipping the value of a lone
			// shorthand only: before the command, -qo json hides it.
			if before && form[0] != "-qo" {
				args = append(append([]string{}, form...), args...)
			} else {
				args = append(args, form...)
			}
			io, _, _, errOut := iostreams.Test()
			code := app.Run(context.Background(), cmdutil.New(io, "test"), args)
			if code != 2 || !strings.Contains(errOut.String(), `{"Error":{"Code":"UsageError","Message":"unknown flag: --bogus`) {
				t.Errorf("certctl %s: exit %d, stderr %q; want exit 2 and the JSON error object", strings.Join(args, " "), code, errOut)
			}
		}
	}
	io, _, _, errOut := iostreams.Test()
	if app.Run(context.Background(), cmdutil.New(io, "test"), []string{"describe", "00000000", "--bogus", "-o=text"}); strings.Contains(errOut.String(), "{") {
		t.Errorf("-o=text: %q holds a JSON object", errOut)
	}
}

// TestErrorEscapesControls: what an error message quotes from the command
// line (cobra's "unknown flag", here) is printed with its control
// characters escaped (tester: an escape sequence reached the terminal).
func TestErrorEscapesControls(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	io, _, _, errOut := iostreams.Test()
	code := app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--\x1b[2J"})
	if code != 2 || strings.Contains(errOut.String(), "\x1b") || !strings.Contains(errOut.String(), `unknown flag: --\x1b[2J`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestErrorIndentTabs: a driver error whose lines are indented with tabs
// (pgconn's connection attempts) shows them as indentation, not \x09
// (tester); a tab inside a line is still escaped.
func TestErrorIndentTabs(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	io, _, _, errOut := iostreams.Test()
	// Nothing listens on port 1 of loopback: refused at once.
	code := app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--store", "postgres://u:p@127.0.0.1:1/db?connect_timeout=5"})
	if code != 6 || strings.Contains(errOut.String(), `\x09`) || !strings.Contains(errOut.String(), "\n  127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q; want exit 6, each attempt on an indented line", code, errOut)
	}
	io, _, _, errOut = iostreams.Test()
	app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--a\tb"})
	if !strings.Contains(errOut.String(), `--a\x09b`) {
		t.Errorf("a tab inside a line: stderr %q, want it escaped", errOut)
	}
}

// TestErrorShortensLongValues: a huge value quoted by an error (100 KB
// given to --starting-token) is shown by its ends and its length, not
// printed back whole (tester), in the message and the JSON error object;
// a value of ordinary length is shown whole.
func TestErrorShortensLongValues(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CERTCTL_VAULT", t.TempDir())
	huge := strings.Repeat("é", 50000)
	io, _, _, errOut := iostreams.Test()
	code := app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--starting-token", huge, "-o", "json"})
	if code != 4 || errOut.Len() > 2000 || !strings.Contains(errOut.String(), "[100002 bytes]") || !utf8.ValidString(errOut.String()) {
		t.Errorf("exit %d, stderr of %d bytes: %.300q", code, errOut.Len(), errOut)
	}
	// Words with spaces between them too (tester).
	io, _, _, errOut = iostreams.Test()
	words := strings.Repeat("word ", 20000)
	app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--starting-token", words})
	if errOut.Len() > 40000 || !strings.Contains(errOut.String(), "bytes in all]") {
		t.Errorf("a value of 100 KB of words: stderr of %d bytes", errOut.Len())
	}
	io, _, _, errOut = iostreams.Test()
	token := strings.Repeat("x", 300)
	app.Run(context.Background(), cmdutil.New(io, "test"), []string{"list", "--starting-token", token})
	if !strings.Contains(errOut.String(), token) {
		t.Errorf("a 300-byte value was cut: %q", errOut)
	}
}
