package fsutil

import (
	"fmt"
	"os"
	"runtime"
)

// OpenToAll reports whether path is a regular file that every user of
// the machine may read (a secret there — a passphrase, a PIN, a password —
// is not kept), with its mode; never on Windows, whose modes say nothing
// of it. A missing file, or one that is not regular (a pipe, a process
// substitution), is not.
func OpenToAll(path string) (os.FileMode, bool) {
	if runtime.GOOS == "windows" {
		return 0, false
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Mode().Perm(), fi.Mode().Perm()&0o004 != 0
}

// OpenToAllWarning is the warning that the secret file given by what (a
// flag, a setting) that every user may read with mode (see OpenToAll):
// shown as the message shows its path, word as a shell takes it.
func OpenToAllWarning(what, shown, word string, mode os.FileMode) string {
	return "warning: " + what + " " + shown + " can be read by every user of this machine (mode " + octal(mode) + "): chmod o-r " + word
}

func octal(m os.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())) }
