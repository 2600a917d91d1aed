package iostreams

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/certctl/certctl/internal/ptytest"
)

// readPasswordFrom reads a password from tty while typed is typed.
func readPasswordFrom(t *testing.T, typist, tty *os.File, typed string) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readPassword(int(tty.Fd()), func(read func() ([]byte, error)) ([]byte, error) { return read() })
		done <- result{b, err}
	}()
	time.Sleep(50 * time.Millisecond) // echo off first
	if _, err := typist.WriteString(typed); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(5 * time.Second):
		typist.WriteString("\n") // unblock the reader
		t.Fatalf("typing %q: still reading after 5 s", typed)
		return nil, nil
	}
}

// TestReadPasswordAtATerminal: a line typed is read without being echoed;
// Ctrl-D at the start of the line ends the prompt with io.EOF instead of
// being ignored (golang.org/x/term's ReadPassword went on reading); the
// terminal's echo is back on afterwards.
func TestReadPasswordAtATerminal(t *testing.T) {
	typist, tty := ptytest.Open(t)
	b, err := readPasswordFrom(t, typist, tty, "s3cret\n")
	if err != nil || string(b) != "s3cret" {
		t.Fatalf("typed s3cret: %q, %v", b, err)
	}
	if _, err := readPasswordFrom(t, typist, tty, "\x04"); !errors.Is(err, io.EOF) {
		t.Fatalf("Ctrl-D: %v, want io.EOF", err)
	}
	st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lflag&unix.ECHO == 0 {
		t.Error("echo is still off after the prompt")
	}
	// Nothing of the password came back to the typist's screen.
	typist.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var screen [256]byte
	n, _ := typist.Read(screen[:])
	if s := string(screen[:n]); containsSecret(s) {
		t.Errorf("the terminal echoed %q", s)
	}
}

func containsSecret(s string) bool {
	for i := 0; i+6 <= len(s); i++ {
		if s[i:i+6] == "s3cret" {
			return true
		}
	}
	return false
}
