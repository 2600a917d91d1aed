//go:build !unix

package fsutil

import "os"

// CheckPrivateDir checks nothing where file ownership is not Unix's.
func CheckPrivateDir(dir string, names ...string) error { return nil }

// CheckPrivateFile checks nothing where file ownership is not Unix's.
func CheckPrivateFile(path string, fi os.FileInfo) error { return nil }

// CheckNotWritableByOthers checks nothing where file ownership is not Unix's.
func CheckNotWritableByOthers(path string) error { return nil }
