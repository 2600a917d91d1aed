//go:build unix

package fsutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestStageOwnedGroupNotKept: where the group of the file replaced cannot
// be given (a user not in it), the group permissions of its mode are
// dropped — a key 0640 shared with ssl-cert does not become readable by
// this process's group (review); where it can, the mode is kept.
func TestStageOwnedGroupNotKept(t *testing.T) {
	dir := t.TempDir()
	own := &Owner{UID: os.Geteuid(), GID: os.Getegid()}
	for _, tc := range []struct {
		name   string
		refuse bool
		want   os.FileMode
	}{{"group given", false, 0o640}, {"group refused", true, 0o600}} {
		old := chownFile
		if tc.refuse {
			chownFile = func(*os.File, int, int) error { return &os.PathError{Op: "chown", Err: syscall.EPERM} }
		}
		path := filepath.Join(dir, tc.name+".key")
		s, err := StageOwned(path, []byte("k"), 0o640, own)
		chownFile = old
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.name, fi.Mode().Perm(), tc.want)
		}
	}
}
