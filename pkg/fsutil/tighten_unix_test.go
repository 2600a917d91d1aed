//go:build unix

package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTightenPrivateDirReports: the files whose group and other
// permissions were taken are named with the mode they had; a private one
// is not.
func TestTightenPrivateDirReports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"open": 0o644, "closed": 0o600} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	got, err := TightenPrivateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "open" || got[0].Mode != 0o644 {
		t.Errorf("tightened %+v, want open (0644) alone", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "open")); fi.Mode().Perm() != 0o600 {
		t.Errorf("open is %o", fi.Mode().Perm())
	}
}
