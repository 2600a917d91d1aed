package cmdutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/fifotest"
	"github.com/certctl/certctl/internal/ptytest"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// TestWriteOutputFileThroughSpecialFiles: a named pipe gets the content
// and stays a pipe, a symbolic link stays a link to the new content, and
// binary content to a terminal is refused (exit 2) while text is written
// to it (tester: --out-file replaced /dev/stdout and /dev/tty with files).
func TestWriteOutputFileThroughSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	pipe := fifotest.New(t, dir)
	if err := WriteBinaryOutputFile(nil, pipe.Path, []byte("through the pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b := pipe.Read(t, 5*time.Second); string(b) != "through the pipe" {
		t.Errorf("the pipe's reader got %q", b)
	}

	target, link := filepath.Join(dir, "real.pem"), filepath.Join(dir, "link.pem")
	if err := os.Symlink("real.pem", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutputFile(nil, link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is now %v (%v)", fi.Mode(), err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "new" {
		t.Errorf("the link's file holds %q (%v)", b, err)
	}

	typist, tty := ptytest.Open(t)
	if err := WriteBinaryOutputFile(nil, tty.Name(), []byte("\x30\x82binary"), 0o600); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("binary to a terminal: %v (exit %d), want exit 2", err, errs.ExitCodeOf(err))
	}
	if err := WriteOutputFile(nil, tty.Name(), []byte("text\n"), 0o600); err != nil {
		t.Errorf("text to a terminal: %v", err)
	}
	buf := make([]byte, 64)
	n, _ := typist.Read(buf)
	if string(buf[:n]) != "text\r\n" {
		t.Errorf("the terminal shows %q", buf[:n])
	}
	if fi, err := os.Stat(tty.Name()); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the terminal is now %v (%v)", fi.Mode(), err)
	}
}

// TestReadFileArgInterrupted: the first interruption ends a read still
// waiting for its input — stdin nobody writes to, a named pipe nobody
// opens — as an interrupted command (exit 1) naming what was being read
// (tester: only a second signal ended it).
func TestReadFileArgInterrupted(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"-", fifo} {
		ios, _, _, _ := iostreams.Test()
		ios.In = pr
		done := make(chan struct{})
		ios.SetInterrupt(done)
		got := make(chan error, 1)
		go func() {
			_, err := ReadFileArg(ios, "certificate", arg)
			got <- err
		}()
		time.Sleep(50 * time.Millisecond)
		close(done)
		select {
		case err := <-got:
			if errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "interrupted while reading --certificate: "+FileArgName(arg)) {
				t.Errorf("%s: %v (exit %d), want exit 1, interrupted", arg, err, errs.ExitCodeOf(err))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading 5 s after the interruption", arg)
		}
	}
	// Input already there is read, interruption or not.
	ios, in, _, _ := iostreams.Test()
	in.WriteString("pem")
	ios.SetInterrupt(make(chan struct{}))
	if b, err := ReadFileArg(ios, "certificate", "-"); err != nil || string(b) != "pem" {
		t.Errorf("stdin with input: %q, %v", b, err)
	}
}

// TestWriteOutputFileInterrupted: --out-file naming a named pipe nobody
// reads waits for a reader until the first interruption, then exits 1
// naming the file (tester: timeout(1) did not end it); so does a yes/no
// question nobody answers.
func TestWriteOutputFileInterrupted(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for name, run := range map[string]func(ios *iostreams.IOStreams) error{
		"--out-file fifo": func(ios *iostreams.IOStreams) error { return WriteOutputFile(ios, fifo, []byte("x"), 0o600) },
		"[y/N]": func(ios *iostreams.IOStreams) error {
			ios.In = pr
			return Confirm(ios, "not deleted", "Delete %s?", "x")
		},
	} {
		ios, _, _, _ := iostreams.Test()
		ios.SetTTY(true)
		done := make(chan struct{})
		ios.SetInterrupt(done)
		got := make(chan error, 1)
		go func() { got <- run(ios) }()
		time.Sleep(50 * time.Millisecond)
		close(done)
		select {
		case err := <-got:
			if errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "interrupted") {
				t.Errorf("%s: %v (exit %d), want exit 1, interrupted", name, err, errs.ExitCodeOf(err))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still waiting 5 s after the interruption", name)
		}
	}
}
