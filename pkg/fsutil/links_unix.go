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
func CheckLinks(path string) error {
	// The path as the kernel walks it: ".." after the link before it is
	// followed, not tidied away beforehand (review: evil/../x reached
	// through a planted evil).
	abs := path
	if !filepath.IsAbs(abs) {
		wd, err := os.Getwd()
		if err != nil {
			return nil
		}
		abs = wd + string(filepath.Separator) + path
	}
	pending := components(abs)
	cur := string(filepath.Separator)
	for hops := 0; len(pending) > 0; {
		name := pending[0]
		pending = pending[1:]
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return nil // not there (yet): nothing further is followed
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			if !trusted(cur, fi) {
				return &UntrustedPathError{Path: next, Why: fmt.Sprintf("is a symbolic link %s: %v", whose(cur, fi), ErrUntrustedLink),
					Fix: "name the file it leads to, or remove the link"}
			}
			if hops++; hops > maxLinks {
				return nil // ResolveOutput reports the loop
			}
			to, err := os.Readlink(next)
			if err != nil {
				return nil
			}
			if filepath.IsAbs(to) {
				cur = string(filepath.Separator)
			}
			pending = append(components(to), pending...)
			continue
		case len(pending) == 0 && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 && !trusted(cur, fi):
			return &UntrustedPathError{Path: next, Why: fmt.Sprintf("is a named pipe or socket %s: another user would read what is written", whose(cur, fi)),
				Fix: "write to a file of your own"}
		}
		cur = next
	}
	return nil
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

// trusted reports whether an entry fi of directory dir (resolved) is
// this user's or root's in a directory that no other user can change it
// in: the directory is this user's or root's and writable by no other
// user, or sticky (where no other user may replace what is not theirs).
func trusted(dir string, fi os.FileInfo) bool {
	uid, ok := ownerOf(fi)
	if !ok {
		return true
	}
	if !trustedUID(uid) {
		return false
	}
	di, err := os.Stat(dir)
	if err != nil {
		return false
	}
	return safeDir(di)
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

// whose says whose fi is and where, for CheckLinks' errors.
func whose(dir string, fi os.FileInfo) string {
	uid, _ := ownerOf(fi)
	if !trustedUID(uid) {
		return fmt.Sprintf("of another user (uid %d)", uid)
	}
	return "in " + dir + ", which another user may write"
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
