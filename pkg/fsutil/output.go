package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// Output is where a file a user named for a command's output (--out-file)
// is written.
type Output struct {
	// Path is the file to write: the path named, or, when that is a
	// symbolic link, the file it leads to — the link stays a link to the
	// new content, as with a shell's redirection.
	Path string
	// Special is set when Path is not a regular file but a named pipe, a
	// device (a terminal, /dev/null) or a socket: the content is written
	// through it, not put in its place (tester: --out-file /dev/stdout
	// replaced the system's /dev/stdout link with a file).
	Special bool
}

// maxLinks is how many symbolic links ResolveOutput follows, as the
// system does (Linux's MAXSYMLINKS).
const maxLinks = 40

// ErrLinkLoop is the cause of ResolveOutput's error for a path whose
// symbolic links do not end.
var ErrLinkLoop = errors.New("too many levels of symbolic links")

// ResolveOutput says where output named path goes: a regular file (or
// none yet) is replaced atomically (WriteFileAtomic); a special file is
// written through. A directory is ErrIsDir. Its errors are *fs.PathError
// naming path.
func ResolveOutput(path string) (Output, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return Output{Path: p}, nil
		case err != nil:
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(p))}
		case fi.Mode()&fs.ModeSymlink != 0:
			to, err := os.Readlink(p)
			if err != nil {
				return Output{}, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(p))}
			}
			if !filepath.IsAbs(to) {
				to = filepath.Join(filepath.Dir(p), to)
			}
			p = to
		case fi.IsDir():
			return Output{}, &fs.PathError{Op: "write", Path: path, Err: ErrIsDir}
		default:
			return Output{Path: p, Special: !fi.Mode().IsRegular()}, nil
		}
	}
	return Output{}, &fs.PathError{Op: "write", Path: path, Err: ErrLinkLoop}
}

// ErrTerminal is the cause of OpenSpecial's error for binary content to a
// terminal.
var ErrTerminal = errors.New("it is a terminal, which binary content would garble")

// OpenSpecial opens o.Path, a special file, for writing through it (a
// named pipe waits for its reader, as a shell's redirection does); for
// binary content, a terminal is refused (ErrTerminal). Its errors are
// *fs.PathError naming path, the file the user named.
func (o Output) OpenSpecial(path string, binary bool) (*os.File, error) {
	f, err := os.OpenFile(o.Path, os.O_WRONLY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "write", Path: path, Err: cause(err, filepath.Dir(o.Path))}
	}
	if binary && term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, &fs.PathError{Op: "write", Path: path, Err: ErrTerminal}
	}
	return f, nil
}
