package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// Output is where a file a user named for a command's output (--out-file)
// is written.
type Output struct {
	// Path is the file to write: the path named, or, when that is a
	// symbolic link to a regular file, the file it leads to — the link
	// stays a link to the new content, as with a shell's redirection.
	Path string
	// Special is set when the path does not name a regular file to
	// replace but a named pipe, a device (a terminal, /dev/null), a
	// socket, or the process's own standard output (/dev/stdout, a file
	// it was redirected to): the content is written through it, not put
	// in its place (tester: --out-file /dev/stdout replaced the system's
	// /dev/stdout link with a file).
	Special bool
	// Stdout is set when the path is the process's standard output
	// (/dev/stdout, /proc/self/fd/1, or the file it was redirected to,
	// appended to with >>): written through the standard output itself,
	// whose offset and append mode a reopening would not share (review).
	Stdout bool
}

// errTooManyLinks is the system's error for a path whose links loop.
var errTooManyLinks = syscall.ELOOP

// maxLinks is how many symbolic links ResolveOutput follows, as the
// system does (Linux's MAXSYMLINKS).
const maxLinks = 40

// ErrLinkLoop is the cause of ResolveOutput's error for a path whose
// symbolic links do not end.
var ErrLinkLoop = errors.New("too many levels of symbolic links")

// ResolveOutput says where output named path goes: a regular file (or
// none yet) is replaced atomically (WriteFileAtomic), behind its links
// (none another user could have made: CheckLinks); a
// special file, or the standard output stdout (nil: none), is written
// through. A directory is ErrIsDir. Its errors are *fs.PathError naming
// path.
func ResolveOutput(path string, stdout *os.File) (Output, error) {
	// Not through what another user could have made lead elsewhere.
	if err := CheckLinks(path); err != nil {
		return Output{}, &fs.PathError{Op: "write", Path: path, Err: err}
	}
	// What path names, as the system opens it: the kernel follows every
	// link, the /proc and /dev/fd ones that name no path (a pipe's
	// "pipe:[N]") included.
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return Output{}, &fs.PathError{Op: "write", Path: path, Err: ErrIsDir}
	case err == nil && stdout != nil && sameFile(fi, stdout):
		return Output{Path: path, Special: true, Stdout: true}, nil
	case err == nil && !fi.Mode().IsRegular():
		return Output{Path: path, Special: true}, nil
	case err == nil && !safeParent(path):
		// A regular file in a directory another user may change: that
		// user could make it a link after CheckLinks looked (review: a
		// file swapped for a link led root's output anywhere). Its entry
		// is replaced as it is then, never followed.
		dir, err := realParent(path)
		if err != nil {
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(path))}
		}
		return Output{Path: filepath.Join(dir, filepath.Base(path))}, nil
	case err == nil:
		// A regular file: replaced where it is, behind its links.
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(path))}
		}
		return Output{Path: real}, nil
	case !errors.Is(err, fs.ErrNotExist):
		if errors.Is(err, errTooManyLinks) {
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: ErrLinkLoop}
		}
		return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(path))}
	}
	// Nothing there yet: the file is made where the path's last link, if
	// any, leads (as a shell's > does) — but for a link in a directory
	// another user may change (see above), which is not followed.
	p := path
	for range maxLinks {
		if !safeParent(p) {
			if dir, err := realParent(p); err == nil {
				return Output{Path: filepath.Join(dir, filepath.Base(p))}, nil
			}
			return Output{Path: p}, nil
		}
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return Output{Path: p}, nil
		case err != nil:
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(p))}
		case fi.Mode()&fs.ModeSymlink == 0:
			return Output{Path: p}, nil
		}
		to, err := os.Readlink(p)
		if err != nil {
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(p))}
		}
		if !filepath.IsAbs(to) {
			dir, err := filepath.EvalSymlinks(filepath.Dir(p))
			if err != nil {
				dir = filepath.Dir(p)
			}
			to = filepath.Join(dir, to)
		}
		p = to
	}
	return Output{}, &fs.PathError{Op: "write", Path: path, Err: ErrLinkLoop}
}

// realParent is the directory that holds p's last entry as the system
// reaches it: p's text before its last separator with its links resolved
// and each ".." taken after the link before it (filepath.Dir would tidy
// l/.. away by text; review).
func realParent(p string) (string, error) {
	raw := "."
	if i := strings.LastIndex(p, string(filepath.Separator)); i == 0 {
		raw = string(filepath.Separator)
	} else if i > 0 {
		raw = p[:i]
	}
	return filepath.EvalSymlinks(raw)
}

// safeParent reports whether p's last entry is in a directory no other
// user may change (SafeDir), reached as the system reaches it.
func safeParent(p string) bool {
	dir, err := realParent(p)
	return err == nil && SafeDir(dir)
}

// sameFile reports whether fi is the file f is open on.
func sameFile(fi os.FileInfo, f *os.File) bool {
	st, err := f.Stat()
	return err == nil && os.SameFile(fi, st)
}

// ErrTerminal is the cause of OpenSpecial's error for binary content to a
// terminal.
var ErrTerminal = errors.New("it is a terminal, which binary content would garble")

// OpenSpecial opens o.Path, a special file, for writing through it (a
// named pipe waits for its reader, as a shell's redirection does); for
// binary content, a terminal is refused (ErrTerminal). The standard
// output (o.Stdout) is not opened again: stdout is returned, for the
// caller not to close. Its errors are *fs.PathError naming path, the file
// the user named.
func (o Output) OpenSpecial(path string, binary bool, stdout *os.File) (f *os.File, own bool, err error) {
	if o.Stdout && stdout != nil {
		f = stdout
	} else if f, err = os.OpenFile(o.Path, os.O_WRONLY, 0); err != nil {
		return nil, false, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(o.Path))}
	} else {
		own = true
	}
	if binary && term.IsTerminal(int(f.Fd())) {
		if own {
			f.Close()
		}
		return nil, false, &fs.PathError{Op: "write", Path: path, Err: ErrTerminal}
	}
	return f, own, nil
}

// PathMistake reports whether err, a failure to write an output file or
// directory, is the path's fault rather than the system's — a missing
// directory, a file where a directory would be or the reverse, a link
// loop, a link another user could have made (invalid input, exit 4) — and
// what to do about it, when there is more to say than the error.
func PathMistake(err error) (mistake bool, fix string) {
	var untrusted *UntrustedPathError
	switch {
	case errors.As(err, &untrusted):
		return true, untrusted.Fix
	case errors.Is(err, ErrIsDir), errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrLinkLoop),
		errors.Is(err, syscall.ENOTDIR), errors.Is(err, fs.ErrExist):
		return true, ""
	}
	return false, ""
}
