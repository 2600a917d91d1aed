//go:build !windows

package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWitnessWriteRestoresItsMode: a witness file found with a wider mode
// is written back 0600, as the rename of older releases left it.
func TestWitnessWriteRestoresItsMode(t *testing.T) {
	w := Witness{Path: filepath.Join(t.TempDir(), "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := w.Set(key, 1, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(w.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Note(key, &Record{Seq: 2, chainMAC: bytes.Repeat([]byte{2}, 32)}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("witness mode %v after a write, want -rw-------", fi.Mode().Perm())
	}
}
