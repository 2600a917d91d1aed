//go:build !unix

package fsutil

import (
	"io/fs"
	"os"
	"path/filepath"
)

// openDir opens directory dir (where file ownership is not Unix's, by its
// path: see the Unix version).
func openDir(dir string) (*os.File, error) { return os.Open(dir) }

// MkdirAll is os.MkdirAll (where file ownership is not Unix's: see the
// Unix version).
func MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }

// MkdirIn makes directory name, one entry, in directory dir, mode perm
// (by its path where file ownership is not Unix's: see the Unix version).
// A directory already there is as good; any other entry is ErrNotDir.
func MkdirIn(dir, name string, perm os.FileMode) error {
	if err := oneEntry(dir, name); err != nil {
		return err
	}
	at := filepath.Join(dir, name)
	if err := os.Mkdir(at, perm); err != nil && !os.IsExist(err) {
		return err
	}
	st, err := os.Lstat(at)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return &fs.PathError{Op: "mkdir", Path: at, Err: ErrNotDir}
	}
	return nil
}

// createTempIn creates a new file in directory d named prefix and a
// random number: its name and the open file.
func createTempIn(d *os.File, prefix string) (string, *os.File, error) {
	f, err := os.CreateTemp(d.Name(), prefix+"*")
	if err != nil {
		return "", nil, err
	}
	return filepath.Base(f.Name()), f, nil
}

// renameIn renames from to to within directory d.
func renameIn(d *os.File, from, to string) error {
	return os.Rename(filepath.Join(d.Name(), from), filepath.Join(d.Name(), to))
}

// removeIn removes name from directory d.
func removeIn(d *os.File, name string) error { return os.Remove(filepath.Join(d.Name(), name)) }
