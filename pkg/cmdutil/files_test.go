package cmdutil

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestCheckOutputPaths: an output flag naming a file an input flag names
// (by the same path, another spelling of it or a link), or a path in the
// vault directory, is refused; distinct paths pass.
func TestCheckOutputPaths(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	if err := os.MkdirAll(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pass.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "pass.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	check := func(args ...string) error {
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		cmd.Flags().String("passphrase-file", "", "")
		_ = cmd.MarkFlagFilename("passphrase-file")
		cmd.Flags().String("out-file", "", "")
		MarkOutputFile(cmd, "out-file")
		cmd.Flags().String("out-dir", "", "")
		MarkOutputDir(cmd, "out-dir", "privkey.pem")
		cmd.Flags().String("backup-file", "", "")
		MarkOutputFileOrStdout(cmd, "backup-file")
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return CheckOutputPaths(cmd, func() string { return vault })
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--passphrase-file", p("pass.txt"), "--out-file", p("pass.txt")}, "which --passphrase-file reads"},
		{[]string{"--passphrase-file", p("pass.txt"), "--out-file", dir + "/./pass.txt"}, "which --passphrase-file reads"},
		{[]string{"--passphrase-file", p("link.txt"), "--out-file", p("pass.txt")}, "which --passphrase-file reads"},
		{[]string{"--passphrase-file", p("privkey.pem"), "--out-dir", dir}, "--out-dir would write"},
		{[]string{"--out-file", filepath.Join(vault, "vault.db")}, "in the vault directory"},
		{[]string{"--out-file", filepath.Join(vault, "sub", "x")}, "in the vault directory"},
		{[]string{"--passphrase-file", p("pass.txt"), "--out-file", p("out.pem")}, ""},
		// "-" is the standard output only where the flag says so: not a
		// file named "-".
		{[]string{"--passphrase-file", p("pass.txt"), "--out-file", "-"}, `--out-file takes a file path: "-"`},
		{[]string{"--passphrase-file", p("pass.txt"), "--backup-file", "-"}, ""},
		{[]string{"--out-file", p("vault.pem")}, ""},
	} {
		err := check(tc.args...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want a refusal saying %q", tc.args, err, tc.want)
		}
	}
}

// TestWriteOutputFileExitCodes: an output path that cannot be a file — a
// directory, or in a directory that does not exist — is invalid input
// (exit 4) for every command that writes one, as for vault backup; the
// message names the path.
func TestWriteOutputFileExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		path string
		want errs.ExitCode
	}{
		{dir, errs.ExitInvalid},
		{filepath.Join(dir, "gone", "x.p12"), errs.ExitInvalid},
		{filepath.Join(dir, "ok.p12"), errs.ExitOK},
	} {
		err := WriteOutputFile(nil, tc.path, []byte("x"), 0o600)
		if got := errs.ExitCodeOf(err); got != tc.want {
			t.Errorf("%s: exit %d (%v), want %d", tc.path, got, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %q does not name the path", tc.path, err)
		}
	}
}

// TestReadFileArgStdinOnce: stdin is read by one file argument: a second
// naming it (`--certificate - --private-key -`) is a usage error naming
// its flag, not an empty file.
func TestReadFileArgStdinOnce(t *testing.T) {
	s, in, _, _ := iostreams.Test()
	in.WriteString("-----BEGIN CERTIFICATE-----\n")
	got, err := ReadFileArg(s, "certificate", "-")
	if err != nil || !strings.HasPrefix(string(got), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("first read of stdin: %q, %v", got, err)
	}
	_, err = ReadFileArg(s, "private-key", "-")
	if errs.ExitCodeOf(err) != errs.ExitUsage || !strings.Contains(err.Error(), "--private-key: stdin is read by another argument already") {
		t.Fatalf("second read of stdin: exit %d, %v; want a usage error naming --private-key", errs.ExitCodeOf(err), err)
	}
}

// TestListenAddressInUse: an address another process listens on is
// refused by state (exit 5), naming it, with a hint (tester: exit 1,
// "bind: address already in use").
func TestListenAddressInUse(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	ln, err := Listen(addr)
	if err == nil {
		ln.Close()
		t.Fatalf("listening on %s twice", addr)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Exit != errs.ExitRefused || e.CodeName() != "ResourceInUseException" ||
		err.Error() != "cannot listen on "+addr+": the address is already in use" || !strings.Contains(e.Hint, "pick another address with --listen") {
		t.Errorf("listening on %s in use: %#v", addr, err)
	}
}

// TestSplitListFlagEmptyItem: an empty item of a list flag is refused with
// the exit code the caller gives, naming the flag; a list without one is
// split and trimmed.
func TestSplitListFlagEmptyItem(t *testing.T) {
	got, err := SplitListFlag("subject-alternative-names", []string{"a, b", "c"}, errs.ExitInvalid)
	if err != nil || strings.Join(got, "|") != "a|b|c" {
		t.Fatalf("a, b + c: %q, %v", got, err)
	}
	for _, vals := range [][]string{{"a,,b"}, {"a,"}, {",a"}, {"a", ""}, {"a, "}} {
		_, err := SplitListFlag("subject-alternative-names", vals, errs.ExitInvalid)
		if errs.ExitCodeOf(err) != errs.ExitInvalid || err == nil || !strings.Contains(err.Error(), "--subject-alternative-names: an empty item") {
			t.Errorf("%q: %v (exit %d), want exit 4 naming the flag", vals, err, errs.ExitCodeOf(err))
		}
	}
	if _, err := SplitListFlag("challenge-types", []string{"dns-01,,http-01"}, errs.ExitUsage); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("challenge-types: exit %d, want 2", errs.ExitCodeOf(err))
	}
}
