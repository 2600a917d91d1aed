package output

import (
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestJSONWriterGrowsPipe checks that a document larger than the buffer
// enlarges the pipe it is written to, and that a small one leaves it be.
func TestJSONWriterGrowsPipe(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want int
	}{{10, 64 << 10}, {2 * jsonBuffer / 20, pipeSize}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := io.Copy(io.Discard, r)
			done <- err
		}()
		j := NewJSONWriter(w)
		j.BeginArray()
		for range tc.n {
			j.String(strings.Repeat("x", 10))
		}
		j.EndArray()
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, w.Fd(), 1032, 0) // F_GETPIPE_SZ
		w.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.Close()
		if errno != 0 {
			t.Fatal(errno)
		}
		if int(size) != tc.want {
			t.Errorf("%d strings: pipe of %d bytes, want %d", tc.n, size, tc.want)
		}
	}
}
