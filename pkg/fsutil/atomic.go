// Package fsutil writes files atomically: a reader sees the old content or
// the new, never a part.
package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path through a temporary file in the same
// directory: write, fsync, chmod, rename over path, fsync the directory.
//
// Its errors are *fs.PathError "write PATH: …" saying what is wrong with
// path — its directory does not exist, it is a directory, permission
// denied — never naming the temporary file, which the user did not give.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	defer func() {
		if err != nil {
			err = &fs.PathError{Op: "write", Path: path, Err: cause(err, dir)}
		}
	}()
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("it is a directory")
	}
	tmp, err := CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(name)
		}
	}()
	if err = tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(name, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cause is err without the temporary file's name, with dir named when it
// is what is missing.
func cause(err error, dir string) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	default:
		return err
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return missingDir{dir, err}
		}
	}
	return err
}

// missingDir is the error of a path whose directory does not exist.
type missingDir struct {
	dir string
	err error // fs.ErrNotExist's, for errors.Is
}

func (e missingDir) Error() string { return "directory " + e.dir + " does not exist" }
func (e missingDir) Unwrap() error { return e.err }
