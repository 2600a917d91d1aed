//go:build unix

package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// Owner is a file's owner and group.
type Owner struct{ UID, GID int }

// OwnerOf is the owner and group of the file fi describes (nil where
// ownership is not Unix's).
func OwnerOf(fi os.FileInfo) *Owner {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return &Owner{UID: int(st.Uid), GID: int(st.Gid)}
}

// chownFile is (*os.File).Chown; tests refuse it (EPERM) as for a user
// that may not give the owner or group.
var chownFile = (*os.File).Chown

// chownKept gives f the owner o, as far as this process may: root gives
// any owner; another user keeps the file its own but may give it one of
// its groups; what is not allowed (EPERM) leaves the file as created.
// groupKept reports whether f has o's group (true without o).
func chownKept(f *os.File, o *Owner) (groupKept bool, err error) {
	if o == nil {
		return true, nil
	}
	err = chownFile(f, o.UID, o.GID)
	if errors.Is(err, syscall.EPERM) && o.UID != os.Geteuid() {
		err = chownFile(f, -1, o.GID)
	}
	if errors.Is(err, syscall.EPERM) {
		return false, nil
	}
	return err == nil, err
}
