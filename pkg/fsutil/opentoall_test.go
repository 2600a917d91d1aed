//go:build unix

package fsutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenToAll: a regular file every user may read is open to all, with
// its mode; one readable by its owner or group only, a missing one and a
// named pipe are not.
func TestOpenToAll(t *testing.T) {
	dir := t.TempDir()
	for mode, want := range map[os.FileMode]bool{0o644: true, 0o604: true, 0o640: false, 0o600: false, 0o400: false} {
		p := filepath.Join(dir, "f")
		_ = os.Remove(p)
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if got, open := OpenToAll(p); open != want || (open && got != mode) {
			t.Errorf("mode %04o: %04o, %v; want %v", mode, got, open, want)
		}
	}
	if _, open := OpenToAll(filepath.Join(dir, "missing")); open {
		t.Error("a missing file taken for open to all")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, open := OpenToAll(fifo); open {
		t.Error("a named pipe taken for open to all")
	}
	if w := OpenToAllWarning("--passphrase-file", "p w", "'p w'", 0o644); w != "warning: --passphrase-file p w can be read by every user of this machine (mode 0644): chmod o-r 'p w'" {
		t.Errorf("warning %q", w)
	}
}
