//go:build unix

package fsutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// openDir opens directory dir to write in, walking it from the root one
// entry at a time as the kernel would, but through no link that another
// user could have made or changed (CheckLinks' rule, applied to what the
// walk itself finds): the directory a staged file is written in and
// renamed in is the one opened then, whatever another user renames or
// swaps on the path meanwhile (review: a directory below theirs swapped
// for a link between the check and the write led root's file elsewhere).
func openDir(dir string) (*os.File, error) { return walkDir(dir, false, 0) }

// MkdirAll makes directory dir and the parents it lacks, mode perm (less
// the umask), as os.MkdirAll does, but walking to it as openDir does:
// through no link that another user could have made or changed, creating
// each missing directory in the one opened before it (mkdirat) — so that
// nothing is made where another user's link leads (tester: export
// --out-dir made root's directories at the end of another user's link
// before the file write refused it).
func MkdirAll(dir string, perm os.FileMode) error {
	d, err := walkDir(dir, true, perm)
	if err != nil {
		return err
	}
	return d.Close()
}

// MkdirIn makes directory name, one entry, in directory dir, mode perm
// (less the umask), walking to dir as openDir does — through no link that
// another user could have made or changed — and making it in the
// directory walked to (mkdirat), so that nothing is made where a link
// swapped in for dir or one of its parents leads (review: export of a
// selection made each certificate's folder with a path-based mkdir after
// checking its --out-dir). A directory already there is as good; any
// other entry there, a link included, is ErrNotDir.
func MkdirIn(dir, name string, perm os.FileMode) error {
	if err := oneEntry(dir, name); err != nil {
		return err
	}
	d, err := walkDir(dir, false, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	at := filepath.Join(dir, name)
	if err := unix.Mkdirat(int(d.Fd()), name, uint32(perm.Perm())); err != nil && err != unix.EEXIST {
		return &fs.PathError{Op: "mkdir", Path: at, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "mkdir", Path: at, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &fs.PathError{Op: "mkdir", Path: at, Err: ErrNotDir}
	}
	return nil
}

// walkDir is openDir, making what is missing, mode perm, when create is
// set (MkdirAll).
func walkDir(dir string, create bool, perm os.FileMode) (*os.File, error) {
	abs, wd := dir, ""
	if !filepath.IsAbs(abs) {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, err
		}
		abs = wd + string(filepath.Separator) + dir
	}
	// shown names an entry of the walk in a MkdirAll error as os.MkdirAll
	// would: relative to the working directory when dir is.
	shown := func(at string) string {
		prefix := strings.TrimSuffix(wd, string(filepath.Separator)) + string(filepath.Separator) // "/" as the working directory too
		if rel, ok := strings.CutPrefix(at, prefix); ok && wd != "" {
			return rel
		}
		return at
	}
	// The directories on the way are opened only to walk through
	// (walkFlags: O_PATH on Linux), which needs no permission to read
	// them, as the kernel's own walk needs none: a directory of mode
	// 0711 above the vault is passed (review: a vault below one could no
	// longer be made); the last is opened to read, below.
	const flags = walkFlags | unix.O_DIRECTORY | unix.O_CLOEXEC
	root := string(filepath.Separator)
	fd, err := unix.Open(root, flags, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	cur := os.NewFile(uintptr(fd), root)
	pending := components(abs)
	for hops := 0; len(pending) > 0; {
		name := pending[0]
		pending = pending[1:]
		var st unix.Stat_t
		err := unix.Fstatat(int(cur.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT && create && name != ".." {
			// Made here, in the directory walked to; another
			// process making it meanwhile is as good.
			if err = unix.Mkdirat(int(cur.Fd()), name, uint32(perm.Perm())); err == nil || err == unix.EEXIST {
				err = unix.Fstatat(int(cur.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
			if err != nil {
				cur.Close()
				return nil, &fs.PathError{Op: "mkdir", Path: shown(filepath.Join(cur.Name(), name)), Err: err}
			}
		}
		if err != nil {
			cur.Close()
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if why, ok := entryTrusted(cur, int(st.Uid)); !ok {
				cur.Close()
				return nil, &UntrustedPathError{Path: filepath.Join(cur.Name(), name), Why: "is a symbolic link " + why + ": " + ErrUntrustedLink.Error(),
					Fix: "name the file it leads to, or remove the link"}
			}
			if hops++; hops > maxLinks {
				cur.Close()
				return nil, &fs.PathError{Op: "open", Path: dir, Err: ErrLinkLoop}
			}
			buf := make([]byte, 4096)
			n, err := unix.Readlinkat(int(cur.Fd()), name, buf)
			if err != nil {
				cur.Close()
				return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
			}
			to := string(buf[:n])
			if filepath.IsAbs(to) {
				fd, err := unix.Open(root, flags, 0)
				if err != nil {
					cur.Close()
					return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
				}
				cur.Close()
				cur = os.NewFile(uintptr(fd), root)
			}
			pending = append(components(to), pending...)
			continue
		}
		next, err := unix.Openat(int(cur.Fd()), name, flags|unix.O_NOFOLLOW, 0)
		if err != nil {
			at := filepath.Join(cur.Name(), name)
			cur.Close()
			if create && err == unix.ENOTDIR {
				// As os.MkdirAll says it: "mkdir afile: not a
				// directory" for afile/sub below a file.
				return nil, &fs.PathError{Op: "mkdir", Path: shown(at), Err: err}
			}
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		nextName := filepath.Join(cur.Name(), name)
		cur.Close()
		cur = os.NewFile(uintptr(next), nextName)
	}
	if walkFlags == unix.O_RDONLY || create {
		// Opened to read already, or for MkdirAll, which keeps
		// nothing of it.
		return cur, nil
	}
	// The directory itself, to read, write in and sync.
	rd, err := unix.Openat(int(cur.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	name := cur.Name()
	cur.Close()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(rd), name), nil
}

// createTempIn creates a new file in directory d (opened by openDir),
// named prefix and a random number, exclusively and without following a
// link: its name and the open file.
func createTempIn(d *os.File, prefix string) (string, *os.File, error) {
	for try := 0; ; try++ {
		name := prefix + strconv.FormatUint(uint64(time.Now().UnixNano())^uint64(try)*0x9e3779b97f4a7c15, 10)
		fd, err := unix.Openat(int(d.Fd()), name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == unix.EEXIST && try < 10000 {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return name, os.NewFile(uintptr(fd), filepath.Join(d.Name(), name)), nil
	}
}

// renameIn renames from to to within directory d.
func renameIn(d *os.File, from, to string) error {
	return unix.Renameat(int(d.Fd()), from, int(d.Fd()), to)
}

// removeIn removes name from directory d.
func removeIn(d *os.File, name string) error {
	return unix.Unlinkat(int(d.Fd()), name, 0)
}
