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

// chownKept gives f the owner o, as far as this process may: root gives
// any owner; another user keeps the file its own but may give it one of
// its groups; what is not allowed (EPERM) leaves the file as created.
func chownKept(f *os.File, o *Owner) error {
	if o == nil {
		return nil
	}
	err := f.Chown(o.UID, o.GID)
	if errors.Is(err, syscall.EPERM) && o.UID != os.Geteuid() {
		err = f.Chown(-1, o.GID)
	}
	if errors.Is(err, syscall.EPERM) {
		return nil
	}
	return err
}
