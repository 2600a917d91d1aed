//go:build unix

package fsutil

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrUntrustedLink is the cause of CheckLinks' error.
var ErrUntrustedLink = errors.New("not followed: another user could have made it lead anywhere")

// CheckLinks refuses to reach path through a symbolic link that a user
// other than this one or root could have made or changed — one of another
// user's, or one in a directory another user may write — and to write
// through a named pipe or socket of another user in a directory others may
// write. certctl resolves an output's links itself and then replaces the
// file at their end, so the system's protected_symlinks and
// protected_fifos, which guard only sticky directories and only when on,
// do not stand between a planted link and a file of root's choosing
// (tester: a link in a shared directory made `metrics --out-file`
// overwrite any file, and `vault backup` write where its planter could
// take it). A path that does not exist yet is checked as far as it goes.
func CheckLinks(path string) error { return checkLinks(path, 0) }

// checkLinks is CheckLinks after hops links. The path's directory is
// opened by openDir, which refuses a link on the way as this does; its
// last entry is judged here by the same rule (entryTrusted), and a link
// there is followed, checked in its turn.
func checkLinks(path string, hops int) error {
	dir, name := splitLast(path)
	d, err := openDir(dir)
	if err != nil {
		var untrusted *UntrustedPathError
		if errors.As(err, &untrusted) {
			return untrusted
		}
		return nil // not there (yet), or a loop: the write says so
	}
	defer d.Close()
	var st unix.Stat_t
	if name == "" || unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return nil // nothing there yet: nothing further is followed
	}
	at := filepath.Join(d.Name(), name)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		if why, ok := entryTrusted(d, int(st.Uid)); !ok {
			return &UntrustedPathError{Path: at, Why: "is a symbolic link " + why + ": " + ErrUntrustedLink.Error(),
				Fix: "name the file it leads to, or remove the link"}
		}
		if hops >= maxLinks {
			return nil // ResolveOutput reports the loop
		}
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(int(d.Fd()), name, buf)
		if err != nil {
			return nil
		}
		to := string(buf[:n])
		if !filepath.IsAbs(to) {
			to = d.Name() + string(filepath.Separator) + to
		}
		return checkLinks(to, hops+1)
	case unix.S_IFIFO, unix.S_IFSOCK:
		if why, ok := entryTrusted(d, int(st.Uid)); !ok {
			return &UntrustedPathError{Path: at, Why: "is a named pipe or socket " + why + ": another user would read what is written",
				Fix: "write to a file of your own"}
		}
	}
	return nil
}

// splitLast is path's text before its last separator (kept as written:
// a ".." in it is the system's to take, after the links before it) and
// its last entry ("" for a path ending with "/", ".." or ".", which
// names a directory).
func splitLast(path string) (dir, name string) {
	i := strings.LastIndex(path, string(filepath.Separator))
	switch {
	case i < 0:
		dir, name = ".", path
	case i == 0:
		dir, name = string(filepath.Separator), path[1:]
	default:
		dir, name = path[:i], path[i+1:]
	}
	if name == "." || name == ".." {
		return path, ""
	}
	return dir, name
}

// trustedUID reports whether uid is this process's user or root, whose
// files no other user could have made (a variable: tests, run by one
// user, take another for this one).
var trustedUID = func(uid int) bool { return uid == os.Geteuid() || uid == 0 }

// TrustedOwner reports whether uid is this user's or root's.
func TrustedOwner(uid int) bool { return trustedUID(uid) }

// SetTrustedUID replaces, until restore is called, the rule of which
// owners' files are this user's or root's — for tests, which one user
// runs, to take its files for another user's.
func SetTrustedUID(rule func(uid int) bool) (restore func()) {
	saved := trustedUID
	trustedUID = rule
	return func() { trustedUID = saved }
}

// components are the names of p's path, in order.
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, string(filepath.Separator)) {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// entryTrusted reports whether an entry of directory d owned by uid is
// this user's or root's in a directory no other user can change it in
// (safeDir), and, when it is not, why ("of another user (uid N)", "in
// DIR, which another user may write"): the rule of CheckLinks and
// openDir alike.
func entryTrusted(d *os.File, uid int) (why string, ok bool) {
	if !trustedUID(uid) {
		return fmt.Sprintf("of another user (uid %d)", uid), false
	}
	if di, err := d.Stat(); err != nil || !safeDir(di) {
		return "in " + d.Name() + ", which another user may write", false
	}
	return "", true
}

// safeDir reports whether no user but this one and root may change the
// entries of the directory di describes (see trusted).
func safeDir(di os.FileInfo) bool {
	// Its owner may rename or remove what is in it, sticky or not
	// (review: another user's sticky directory was taken for safe).
	if duid, ok := ownerOf(di); ok && !trustedUID(duid) {
		return false
	}
	if di.Mode()&os.ModeSticky != 0 {
		return true
	}
	// Writable by a group, it is writable by its other members too
	// (review) — but for a user's private group (umask 002 systems),
	// which has none.
	perm := di.Mode().Perm()
	return perm&0o002 == 0 && (perm&0o020 == 0 || isPrivateGroup(di))
}

// isPrivateGroup is privateGroup (a variable: tests, whose directories
// have their owner's private group, take it for a shared one).
var isPrivateGroup = privateGroup

// privateGroup reports whether di's group is its owner's private group:
// the owner's primary group, named as the owner is (the user private
// group scheme, where a umask of 002 makes directories 0775; review:
// such a user's own directories were refused).
func privateGroup(di os.FileInfo) bool {
	uid, ok := ownerOf(di)
	st, ok2 := di.Sys().(*syscall.Stat_t)
	if !ok || !ok2 {
		return false
	}
	key := [2]uint32{uint32(uid), st.Gid}
	if v, ok := privateGroups.Load(key); ok {
		return v.(bool)
	}
	private := false
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Gid == strconv.Itoa(int(st.Gid)) {
		if g, err := user.LookupGroupId(u.Gid); err == nil && g.Name == u.Username {
			private = true
		}
	}
	privateGroups.Store(key, private)
	return private
}

// privateGroups caches privateGroup by owner and group.
var privateGroups sync.Map

// SafeDir reports whether no user but this one and root may change the
// entries of directory dir (see CheckLinks).
func SafeDir(dir string) bool {
	di, err := os.Stat(dir)
	return err == nil && safeDir(di)
}

// KeepsOwner reports whether a file replaced at path (fi describes it,
// links not followed) is given its owner and group again (deploy): not
// when its directory is writable by a group or every user, where another
// could have made it beforehand to be given the key (tester: a key file
// created ahead in a shared directory received the key, its maker's),
// unless it is this user's or root's.
func KeepsOwner(path string, fi os.FileInfo) bool {
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return false
	}
	if perm := di.Mode().Perm(); perm&0o002 == 0 && (perm&0o020 == 0 || isPrivateGroup(di)) {
		return true
	}
	uid, ok := ownerOf(fi)
	return ok && trustedUID(uid)
}

// CheckPrivateOutputDir refuses a directory to write a copy of the vault
// in (a backup) that another user may change the entries of: they could
// take the copy as it is written (tester: a backup's working directory,
// made where a planted link led, was swapped for the planter's).
func CheckPrivateOutputDir(dir string) error {
	di, err := os.Stat(dir)
	if err != nil {
		return nil // its absence is reported by the write
	}
	if safeDir(di) {
		return nil
	}
	uid, _ := ownerOf(di)
	return &UntrustedPathError{Path: dir, Why: fmt.Sprintf("may be written by another user (owner uid %d, mode %s), who could take what is written there", uid, modeString(di)),
		Fix: "write it to a directory of your own"}
}
