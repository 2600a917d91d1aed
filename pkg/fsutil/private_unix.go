//go:build unix

package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// CheckPrivateDir refuses a directory that another user could write into
// or replace — and so fill with files this user then trusts (a vault's
// database, its master key, a deploy target's command run by root's
// cron). As ssh does for its keys: dir, every directory above it (the path
// as given and the path its links lead to) and every file in it must
// belong to this user or root, and be writable by no other user — except
// by the members of a group this process is in (a project group, a
// Kubernetes volume's fsGroup: they can remove files but put none of
// theirs in their place), and except a sticky directory (/tmp) above it,
// where nobody renames another's directory. A file of this user's in dir
// loses the group and other permissions it had.
//
// With names, only those files in dir are checked (those that exist), not
// every file in it: a database kept outside its vault directory, with the
// files SQLite keeps beside it; dir is then checked as a directory above
// it (sticky allowed).
//
// The error names the path and says why (UnsafeError).
func CheckPrivateDir(dir string, names ...string) error {
	_, err := TightenPrivateDir(dir, names...)
	return err
}

// TightenPrivateDir is CheckPrivateDir, also saying which files of dir it
// took the group's and others' permissions from, with the mode each had.
func TightenPrivateDir(dir string, names ...string) (tightened []Tightened, err error) {
	real, _, err := checkPath(dir, names != nil, true)
	if err != nil {
		return nil, err
	}
	if names == nil {
		entries, err := os.ReadDir(real)
		if err != nil {
			return nil, err
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
			return nil, err
		}
		if ei.Mode()&os.ModeSymlink != 0 {
			continue // opened with O_NOFOLLOW where it matters, or not at all
		}
		if ei.IsDir() {
			if err := checkWritable(path, ei, false); err != nil {
				return nil, err
			}
			continue
		}
		if !ei.Mode().IsRegular() {
			continue
		}
		changed, err := checkPrivateFile(path, ei)
		if err != nil {
			return nil, err
		}
		if changed {
			tightened = append(tightened, Tightened{Name: name, Mode: ei.Mode().Perm()})
		}
	}
	return tightened, nil
}

// CheckParents applies CheckPrivateDir's rule for the directories above
// a vault to those above dir that exist: what refuses a vault directory
// before it is made.
func CheckParents(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			return CheckAboveDir(p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// CheckAboveDir checks the existing directory p, and those above it, as
// directories above a vault.
func CheckAboveDir(p string) error {
	_, _, err := checkPath(p, true, true)
	return err
}

// checkPath checks path (ancestor: as a directory above a vault), the
// directories above where its links lead and those above it as given; it
// returns where it leads and what is there. A path that must be a
// directory (dir) and is something else is refused as such first, before
// its permissions: "chmod go-w /dev/null", as root, breaks /dev/null for
// everyone (tester: --vault /dev/null was told so).
func checkPath(path string, ancestor, dir bool) (string, os.FileInfo, error) {
	real, err := resolve(path)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", nil, err
	}
	if dir && !fi.IsDir() {
		why := "is not a directory"
		switch m := fi.Mode(); {
		case m.IsRegular():
			why += " (it is a file)"
		case m&(os.ModeDevice|os.ModeNamedPipe|os.ModeSocket) != 0:
			why += " (it is " + KindOf(m) + ")"
		}
		return "", nil, &UnsafeError{Path: path, Why: why, Fix: "give --vault (or CERTCTL_VAULT) a directory: a new or empty one, or the vault's own"}
	}
	if err := checkWritable(real, fi, ancestor); err != nil {
		return "", nil, err
	}
	if err := checkAbove(real); err != nil {
		return "", nil, err
	}
	if abs, err := filepath.Abs(path); err == nil && abs == real {
		return real, fi, nil // no link on the way: the same directories
	}
	return real, fi, checkGivenPath(path)
}

// checkPrivateFile refuses a regular file of another owner than this
// user or root, or one others may write that cannot be narrowed; one of
// this user's loses group and other permissions.
func checkPrivateFile(path string, fi os.FileInfo) (tightened bool, err error) {
	if err := checkOwner(path, fi); err != nil {
		return false, err
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return false, nil
	}
	if uid, _ := ownerOf(fi); uid == os.Geteuid() {
		if err := os.Chmod(path, perm&0o700); err == nil {
			return true, nil
		}
	}
	if perm&0o002 != 0 || perm&0o020 != 0 && !inMyGroups(fi) {
		return false, &UnsafeError{Path: path, Why: fmt.Sprintf("is writable by other users (mode %s)", modeString(fi)), Fix: "chmod go-w " + path}
	}
	return false, nil
}

// checkOwner refuses what belongs to another user than this one or root:
// its owner could replace what is in it.
func checkOwner(path string, fi os.FileInfo) error {
	uid, ok := ownerOf(fi)
	if !ok || uid == os.Geteuid() || uid == 0 {
		return nil
	}
	return &UnsafeError{Path: path, Why: fmt.Sprintf("belongs to another user (uid %d), who could replace what is in it", uid),
		Fix: fmt.Sprintf("run certctl as that user, or use a directory of your own (chown %d %s)", os.Geteuid(), path)}
}

// CheckNotWritableByOthers refuses a file whose content decides what this
// user runs (a config file naming hook commands, a PKCS #11 module) when
// another user could change it: it and every directory above it must
// belong to this user or root and be writable by no other user (sticky
// directories excepted above it, and a group this process is in). Readable
// by others is fine: nothing is narrowed. A named pipe or a terminal (--config
// /dev/stdin) is no file another user could replace: not checked.
func CheckNotWritableByOthers(path string) error {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil
	}
	_, _, err := checkPath(path, false, false)
	return err
}

// checkAbove applies checkWritable to every directory above real
// (absolute), up to the root.
func checkAbove(real string) error {
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		pi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := checkWritable(p, pi, true); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// checkGivenPath checks the directories above path as given, before its
// links are resolved: another user who could change a link on the way
// could point it elsewhere between the check and the open.
func checkGivenPath(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		pi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if pi.Mode()&os.ModeSymlink == 0 {
			// A directory: checked as such (a link's target was
			// checked when resolved).
			if err := checkWritable(p, pi, true); err != nil {
				return err
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// checkWritable refuses a file or directory of another user than this
// one or root, or one that other users may write to: every user (unless a
// sticky directory above a vault: ancestor), or a group this process is
// not in.
func checkWritable(path string, fi os.FileInfo, ancestor bool) error {
	if err := checkOwner(path, fi); err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 || ancestor && fi.Mode()&os.ModeSticky != 0 {
		return nil
	}
	if perm&0o002 == 0 && inMyGroups(fi) {
		return nil
	}
	return &UnsafeError{Path: path, Why: fmt.Sprintf("is writable by other users (mode %s), who could replace what is in it", modeString(fi)),
		Fix: "chmod go-w " + path}
}

// inMyGroups reports whether fi's group is this process's group or one
// of its supplementary groups.
func inMyGroups(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	gid := int(st.Gid)
	if gid == os.Getegid() {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}

// modeString is fi's mode as chmod takes it: 0777, 1777, 2775.
func modeString(fi os.FileInfo) string {
	m := uint32(fi.Mode().Perm())
	if fi.Mode()&os.ModeSticky != 0 {
		m |= 0o1000
	}
	if fi.Mode()&os.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fi.Mode()&os.ModeSetuid != 0 {
		m |= 0o4000
	}
	return fmt.Sprintf("%04o", m)
}

func ownerOf(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// resolve is path made absolute with its links resolved.
func resolve(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if !errors.As(err, new(*fs.PathError)) {
			// EvalSymlinks's bare "not a directory", for a file on
			// the way (--vault /dev/null/x): said with the path.
			err = &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return "", err
	}
	return filepath.Abs(real)
}
