//go:build unix

package localstore

import (
	"os"
	"syscall"
)

// fileID is a file's device and inode numbers.
type fileID struct{ dev, ino uint64 }

func (id fileID) zero() bool { return id == fileID{} }

func idOf(fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // int32 on some systems
}
