package cmdutil

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/ptytest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestWriteOutputFileThroughSpecialFiles: a named pipe gets the content
// and stays a pipe, a symbolic link stays a link to the new content, and
// binary content to a terminal is refused (exit 2) while text is written
// to it (tester: --out-file replaced /dev/stdout and /dev/tty with files).
func TestWriteOutputFileThroughSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := WriteBinaryOutputFile(fifo, []byte("through the pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "through the pipe" {
			t.Errorf("the pipe's reader got %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pipe's reader got nothing in 5 s")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe is now %v (%v)", fi.Mode(), err)
	}

	target, link := filepath.Join(dir, "real.pem"), filepath.Join(dir, "link.pem")
	if err := os.Symlink("real.pem", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteOutputFile(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is now %v (%v)", fi.Mode(), err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "new" {
		t.Errorf("the link's file holds %q (%v)", b, err)
	}

	typist, tty := ptytest.Open(t)
	if err := WriteBinaryOutputFile(tty.Name(), []byte("\x30\x82binary"), 0o600); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("binary to a terminal: %v (exit %d), want exit 2", err, errs.ExitCodeOf(err))
	}
	if err := WriteOutputFile(tty.Name(), []byte("text\n"), 0o600); err != nil {
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
