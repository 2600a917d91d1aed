// Package fsutil writes files atomically: a reader sees the old content or
// the new, never a part.
package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFileAtomic writes data to path through a temporary file in the same
// directory: write, fsync, chmod, rename over path, fsync the directory.
//
// Its errors are *fs.PathError "write PATH: …" saying what is wrong with
// path — its directory does not exist, it is a directory, permission
// denied — never naming the temporary file, which the user did not give.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	s, err := Stage(path, data, mode)
	if err != nil {
		return err
	}
	if err := s.Commit(); err != nil {
		s.Discard()
		return err
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// Staged is a file's new content written to a temporary file beside it and
// synced, waiting to be renamed over the file (Commit) or removed
// (Discard). Staging every file of a set first and only then renaming
// them one after another makes the moment in which the set is half old,
// half new as short as a few renames (see deploy.Install).
type Staged struct {
	// Path is the file the content is for.
	Path string
	tmp  string
	// dir is Path's directory, opened when the content was staged
	// (openDir): the rename happens there, wherever the path leads by
	// then; tmpName and base are the names in it.
	dir           *os.File
	tmpName, base string
}

// Stage writes data to a temporary file in path's directory (created
// 0600, then given mode, then written and synced): WriteFileAtomic up to
// the rename. Its errors are WriteFileAtomic's; on error nothing is left
// behind.
func Stage(path string, data []byte, mode os.FileMode) (s *Staged, err error) {
	return StageOwned(path, data, mode, nil)
}

// StageOwned is Stage giving the temporary file the owner and group own
// (nil: this process's) before its content is synced, as far as this
// process may (see chownKept): a file replaced keeps the owner and group
// the service that reads it may depend on. Where the group cannot be
// given, mode's group permissions are dropped.
//
// The directory is opened first, through no link another user could have
// made (openDir), and the temporary file is made and renamed in that
// open directory, never by its path again.
func StageOwned(path string, data []byte, mode os.FileMode, own *Owner) (s *Staged, err error) {
	dir := filepath.Dir(path)
	defer func() {
		if err != nil {
			err = &fs.PathError{Op: "write", Path: path, Err: cause(err, dir)}
		}
	}()
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, ErrIsDir
	}
	d, err := openDir(dir)
	if err != nil {
		var untrusted *UntrustedPathError
		if errors.As(err, &untrusted) {
			return nil, untrusted
		}
		return nil, err
	}
	// A killed process's temporary files of this name go first (see
	// CreateTemp), once a process.
	prefix := "." + filepath.Base(path) + ".tmp-"
	if _, done := swept.LoadOrStore(dir+"\x00"+prefix+"*", true); !done {
		sweepTemps(dir, prefix+"*", time.Now().Add(-StaleTemp))
	}
	name, tmp, err := createTempIn(d, prefix)
	if err != nil {
		d.Close()
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = removeIn(d, name)
			d.Close()
		}
	}()
	groupKept, err := chownKept(tmp, own)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	if !groupKept {
		// The file is this process's group's, not the one its mode
		// was given for: that group gets nothing (review: a key 0640
		// shared with ssl-cert became readable by certctl's group).
		mode &^= 0o070
	}
	if err = tmp.Chmod(mode); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err = tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err = tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err = tmp.Close(); err != nil {
		return nil, err
	}
	return &Staged{Path: path, tmp: filepath.Join(dir, name), dir: d, tmpName: name, base: filepath.Base(path)}, nil
}

// Temp is the temporary file holding the staged content.
func (s *Staged) Temp() string { return s.tmp }

// Commit renames the staged content over s.Path, in the directory opened
// when it was staged. The rename is durable once the directory is synced
// (SyncDir).
func (s *Staged) Commit() error {
	err := renameIn(s.dir, s.tmpName, s.base)
	if err != nil {
		return &fs.PathError{Op: "write", Path: s.Path, Err: cause(err, filepath.Dir(s.Path))}
	}
	s.dir.Close()
	return nil
}

// Discard removes the staged content (nothing when it was committed).
func (s *Staged) Discard() {
	if s.dir == nil {
		_ = os.Remove(s.tmp)
		return
	}
	_ = removeIn(s.dir, s.tmpName)
	s.dir.Close()
}

// SyncDir syncs directory dir, making the renames and removals done in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ErrIsDir is the cause of the error of a write to a path that is a
// directory (WriteFileAtomic, Stage): "write PATH: it is a directory".
var ErrIsDir = errors.New("it is a directory")

// ErrNotDir is MkdirIn's error for an entry of another kind (a file, a
// symbolic link) where it was to make a directory.
var ErrNotDir = errors.New("exists and is not a directory")

// oneEntry refuses a name that is not one entry of a directory.
func oneEntry(dir, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		return &fs.PathError{Op: "mkdir", Path: filepath.Join(dir, name), Err: fs.ErrInvalid}
	}
	return nil
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
