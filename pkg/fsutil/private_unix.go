//go:build unix

package fsutil

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckPrivateDir refuses a directory that another user could write into
// or replace — and so fill with files this user then trusts (a vault's
// database, its master key, a deploy target's command run by root's
// cron). As ssh does for its keys: dir must belong to this user (or
// root) and be writable by no group or other user, and every directory
// above it must belong to this user or root and be writable by no other
// user unless it is sticky (/tmp), so that nobody else can rename dir
// away and put another in its place. Regular files directly in dir must
// belong to this user or root; one of this user's with any group or other
// permission is narrowed to 0600 (SQLite gives the files it creates
// beside a database the database's mode). Files and directories in dir
// of another owner, or writable by others, are refused.
//
// With names, only those files in dir are checked (those that exist), not
// every file in it: a database kept outside its vault directory, with the
// files SQLite keeps beside it.
//
// The error names the path and says why (UnsafeError).
func CheckPrivateDir(dir string, names ...string) error {
	real, err := resolve(dir)
	if err != nil {
		return err
	}
	me := os.Geteuid()
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	if err := checkOwned(real, fi, me, false); err != nil {
		return err
	}
	if err := checkAbove(real, me); err != nil {
		return err
	}
	if names == nil {
		entries, err := os.ReadDir(real)
		if err != nil {
			return err
		}
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	for _, name := range names {
		path := filepath.Join(real, name)
		ei, err := os.Lstat(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue // removed meanwhile
			}
			return err
		}
		if ei.Mode()&os.ModeSymlink != 0 {
			continue // opened with O_NOFOLLOW where it matters, or not at all
		}
		if ei.IsDir() {
			if err := checkOwned(path, ei, me, false); err != nil {
				return err
			}
			continue
		}
		if !ei.Mode().IsRegular() {
			continue
		}
		if err := CheckPrivateFile(path, ei); err != nil {
			return err
		}
	}
	return nil
}

// CheckPrivateFile applies CheckPrivateDir's rule for the files in it to
// the regular file path (fi its Lstat; nil: read here): another user's
// file, or one others may write that cannot be narrowed, is refused; one
// of this user's is narrowed to 0600.
func CheckPrivateFile(path string, fi os.FileInfo) error {
	if fi == nil {
		var err error
		if fi, err = os.Lstat(path); err != nil {
			return err
		}
	}
	me := os.Geteuid()
	uid, ok := ownerOf(fi)
	if !ok {
		return nil
	}
	if uid != me && uid != 0 {
		return &UnsafeError{Path: path, Why: fmt.Sprintf("belongs to another user (uid %d)", uid), Fix: fmt.Sprintf("chown %d %s", me, path)}
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if uid == me {
		if err := os.Chmod(path, fi.Mode().Perm()&0o700|0o600); err == nil {
			return nil
		}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &UnsafeError{Path: path, Why: fmt.Sprintf("is writable by other users (mode %04o)", fi.Mode().Perm()), Fix: "chmod 600 " + path}
	}
	return nil
}

// checkOwned refuses a directory of another user than me or root, or one
// others may write to (allowed above a vault when sticky: ancestor).
func checkOwned(path string, fi os.FileInfo, me int, ancestor bool) error {
	uid, ok := ownerOf(fi)
	if !ok {
		return nil
	}
	if uid != me && uid != 0 {
		return &UnsafeError{Path: path, Why: fmt.Sprintf("belongs to another user (uid %d), who could replace what is in it", uid),
			Fix: fmt.Sprintf("use a directory of your own, or chown %d %s", me, path)}
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 || ancestor && fi.Mode()&os.ModeSticky != 0 {
		return nil
	}
	return &UnsafeError{Path: path, Why: fmt.Sprintf("is writable by other users (mode %04o), who could replace what is in it", perm),
		Fix: "chmod go-w " + path}
}

func ownerOf(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// CheckNotWritableByOthers refuses a file whose content decides what this
// user runs (a config file naming hook commands) when another user could
// change it: the file must belong to this user or root and be writable by
// no one else, and so must every directory above it (sticky ones, such as
// /tmp, excepted). Readable by others is fine: nothing is narrowed.
func CheckNotWritableByOthers(path string) error {
	real, err := resolve(path)
	if err != nil {
		return err
	}
	me := os.Geteuid()
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	if err := checkOwned(real, fi, me, false); err != nil {
		return err
	}
	return checkAbove(real, me)
}

// checkAbove applies checkOwned to every directory above real (absolute,
// links resolved), up to the root.
func checkAbove(real string, me int) error {
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		pi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := checkOwned(p, pi, me, true); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// resolve is path made absolute with its links resolved.
func resolve(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(real)
}
