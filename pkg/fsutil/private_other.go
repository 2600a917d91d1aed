//go:build !unix

package fsutil

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
