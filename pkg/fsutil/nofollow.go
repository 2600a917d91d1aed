package fsutil

import "os"

// OpenNoFollow is os.OpenFile that does not follow a symbolic link at
// path's last element: opening one fails (ELOOP on Linux and macOS), so a
// file written in place — not renamed over its name, which would replace
// a link — is never written through a link someone put in its place. On a
// system without O_NOFOLLOW (Windows) it is os.OpenFile.
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|oNoFollow, perm)
}
