package fsutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestOpenNoFollow: a symbolic link at the path is not opened (nor its
// target written), where the system can refuse it; a file is.
func TestOpenNoFollow(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no O_NOFOLLOW")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if f, err := OpenNoFollow(link, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
		t.Fatal("a link was opened")
	}
	f, err := OpenNoFollow(target, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
