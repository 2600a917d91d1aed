package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/certctl/certctl/internal/ptytest"
)

// TestResolveOutput: a regular file or none is written in place (behind
// its symbolic links, which stay links); a named pipe or a device is
// written through, opened by the path given (the kernel following its
// links, /proc's too); a directory and a loop of links are refused; the
// process's standard output, by any name, is itself.
func TestResolveOutput(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(at("file"), []byte("x"), 0o600))
	must(os.Mkdir(at("dir"), 0o700))
	must(syscall.Mkfifo(at("fifo"), 0o600))
	must(os.Symlink("file", at("rel")))
	must(os.Symlink(at("rel"), at("chain")))
	must(os.Symlink("absent", at("dangling")))
	must(os.Symlink("fifo", at("tofifo")))
	must(os.Symlink("/dev/null", at("null")))
	must(os.Symlink("loop2", at("loop1")))
	must(os.Symlink("loop1", at("loop2")))
	_, tty := ptytest.Open(t)

	for _, c := range []struct {
		name, want string
		special    bool
		err        error
	}{
		{name: "file", want: at("file")},
		{name: "new", want: at("new")},
		{name: "rel", want: at("file")},
		{name: "chain", want: at("file")},
		{name: "dangling", want: at("absent")},
		{name: "fifo", want: at("fifo"), special: true},
		{name: "tofifo", want: at("tofifo"), special: true},
		{name: "null", want: at("null"), special: true},
		{name: tty.Name(), want: tty.Name(), special: true},
		{name: "dir", err: ErrIsDir},
		{name: "loop1", err: ErrLinkLoop},
	} {
		path := c.name
		if !filepath.IsAbs(path) {
			path = at(c.name)
		}
		out, err := ResolveOutput(path, nil)
		if c.err != nil {
			var pe *os.PathError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.Path != path {
				t.Errorf("%s: %v, want %v naming %s", c.name, err, c.err, path)
			}
			continue
		}
		if err != nil || out.Path != c.want || out.Special != c.special {
			t.Errorf("%s: %+v, %v; want %s, special %v", c.name, out, err, c.want, c.special)
		}
	}

	// The standard output, by a name of /proc, is itself (not the
	// "pipe:[N]" its link reads).
	pr, pw, err := os.Pipe()
	must(err)
	defer pr.Close()
	defer pw.Close()
	fdPath := "/proc/self/fd/" + strconv.Itoa(int(pw.Fd()))
	if out, err := ResolveOutput(fdPath, pw); err != nil || !out.Stdout || !out.Special {
		t.Errorf("%s as the standard output: %+v, %v", fdPath, out, err)
	}
	if out, err := ResolveOutput(fdPath, nil); err != nil || out.Stdout || !out.Special {
		t.Errorf("%s, a pipe: %+v, %v", fdPath, out, err)
	}

	// Binary content is not written to a terminal; text is.
	out, _ := ResolveOutput(tty.Name(), nil)
	if _, _, err := out.OpenSpecial("t", true, nil); !errors.Is(err, ErrTerminal) {
		t.Errorf("binary to a terminal: %v, want ErrTerminal", err)
	}
	f, _, err := out.OpenSpecial("t", false, nil)
	if err != nil {
		t.Fatalf("text to a terminal: %v", err)
	}
	f.Close()
}
