//go:build unix

package fsutil_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/certctl/certctl/pkg/fsutil"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := fsutil.ReadRegular(ok, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("at the bound: %q %v", data, err)
	}
	if _, err := fsutil.ReadRegular(ok, 9); !errors.Is(err, fsutil.ErrTooLarge) {
		t.Errorf("over the bound: %v", err)
	}
	// A pipe with no writer is refused at once, not waited on.
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fsutil.ReadRegular(pipe, 10); !errors.Is(err, fsutil.ErrNotRegular) {
		t.Errorf("named pipe: %v", err)
	}
	// A device is not read (through a link, too).
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	if _, err := fsutil.ReadRegular(zero, 10); !errors.Is(err, fsutil.ErrNotRegular) {
		t.Errorf("device: %v", err)
	}
	if _, err := fsutil.ReadRegular(dir, 10); !errors.Is(err, fsutil.ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
}
