//go:build !unix

package fsutil

import "os"

// CheckPrivateDir checks nothing where file ownership is not Unix's.
func CheckPrivateDir(dir string, names ...string) error { return nil }

// TightenPrivateDir tightens nothing where file ownership is not Unix's.
func TightenPrivateDir(dir string, names ...string) ([]Tightened, error) { return nil, nil }

// CheckParents checks nothing where file ownership is not Unix's.
func CheckParents(dir string) error { return nil }

// CheckAboveDir checks nothing where file ownership is not Unix's.
func CheckAboveDir(p string) error { return nil }

// CheckNotWritableByOthers checks nothing where file ownership is not Unix's.
func CheckNotWritableByOthers(path string) error { return nil }

// CheckLinks checks nothing where file ownership is not Unix's.
func CheckLinks(path string) error { return nil }

// KeepsOwner keeps no owner where file ownership is not Unix's.
func KeepsOwner(path string, fi os.FileInfo) bool { return false }

// CheckPrivateOutputDir checks nothing where file ownership is not Unix's.
func CheckPrivateOutputDir(dir string) error { return nil }

// SetTrustedUID changes nothing where file ownership is not Unix's.
func SetTrustedUID(rule func(uid int) bool) (restore func()) { return func() {} }

// SafeDir takes every directory for safe where file ownership is not Unix's.
func SafeDir(dir string) bool { return true }

// TrustedOwner takes every owner for trusted where file ownership is not Unix's.
func TrustedOwner(uid int) bool { return true }
