//go:build unix

// Package fifotest makes named pipes with a reader for tests of what is
// written through them.
package fifotest

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Pipe is a named pipe whose reader is waiting for a writer.
type Pipe struct {
	Path string
	got  chan []byte
}

// New makes a named pipe in dir and starts reading it: what a writer
// writes until it closes, Read returns.
func New(t testing.TB, dir string) *Pipe {
	t.Helper()
	p := &Pipe{Path: filepath.Join(dir, "fifo"), got: make(chan []byte, 1)}
	if err := syscall.Mkfifo(p.Path, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.Open(p.Path)
		if err != nil {
			p.got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		p.got <- b
	}()
	return p
}

// Read returns what was written through the pipe, failing t when nothing
// was within wait; it also fails t when the path is no longer a pipe.
func (p *Pipe) Read(t testing.TB, wait time.Duration) []byte {
	t.Helper()
	select {
	case b := <-p.got:
		if fi, err := os.Lstat(p.Path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the pipe is now %v (%v)", fi.Mode(), err)
		}
		return b
	case <-time.After(wait):
		t.Fatalf("the pipe's reader got nothing in %s", wait)
		return nil
	}
}
