package fsutil

import "os"

// UnsafeError is a directory or file that another user could write or
// replace, refused by CheckPrivateDir: Why says what is wrong with Path,
// Fix what makes it private.
type UnsafeError struct {
	Path string
	Why  string
	Fix  string
}

func (e *UnsafeError) Error() string { return e.Path + " " + e.Why }

// UntrustedPathError is an output path refused because another user could
// have made it lead elsewhere, or could take what is written there
// (CheckLinks, CheckPrivateOutputDir): Why says what is wrong with Path,
// Fix what to do instead.
type UntrustedPathError struct {
	Path string
	Why  string
	Fix  string
}

func (e *UntrustedPathError) Error() string { return e.Path + " " + e.Why }

// Tightened is a file TightenPrivateDir took the group's and others'
// permissions from, and the mode it had.
type Tightened struct {
	Name string
	Mode os.FileMode
}
