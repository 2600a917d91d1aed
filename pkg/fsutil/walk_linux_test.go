package fsutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/internal/asnobody"
)

// TestWalkThroughUnreadableDirectory: MkdirAll and the writes' walk pass
// a directory on the way that this user may search but not read (mode
// 0311 of its own, or root's 0711), as the kernel's own walk does (review:
// a vault below a 0711 directory could no longer be made). Root reads
// every directory, so as root the walk runs again as nobody, in a copy of
// this test binary.
func TestWalkThroughUnreadableDirectory(t *testing.T) {
	if dir := os.Getenv("FSUTIL_WALK_HELPER"); dir != "" {
		walkBelow(t, dir)
		return
	}
	base := t.TempDir()
	if os.Geteuid() != 0 {
		shut := filepath.Join(base, "shut")
		mkdirMode(t, shut, 0o711)
		if err := os.Mkdir(filepath.Join(shut, "mine"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shut, 0o311); err != nil { // searchable, not readable
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(shut, 0o700) })
		walkBelow(t, filepath.Join(shut, "mine"))
		return
	}
	asnobody.Searchable(t, base)
	shut := filepath.Join(base, "shut")
	mkdirMode(t, shut, 0o711)
	mine := filepath.Join(shut, "mine")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(mine, asnobody.UID, asnobody.UID); err != nil {
		t.Fatal(err)
	}
	asnobody.Rerun(t, "TestWalkThroughUnreadableDirectory", base, "FSUTIL_WALK_HELPER="+mine)
}

// walkBelow makes a directory below dir, whose parent this user cannot
// read, and writes a file into it.
func walkBelow(t *testing.T, dir string) {
	made := filepath.Join(dir, "a", "b")
	if err := MkdirAll(made, 0o700); err != nil {
		t.Fatalf("MkdirAll below a directory this user cannot read: %v", err)
	}
	if err := WriteFileAtomic(filepath.Join(made, "f"), []byte("x"), 0o600); err != nil {
		t.Fatalf("a write below it: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(made, "f")); err != nil || string(got) != "x" {
		t.Fatalf("read back %q, %v", got, err)
	}
}
