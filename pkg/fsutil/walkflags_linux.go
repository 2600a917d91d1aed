package fsutil

import "golang.org/x/sys/unix"

// walkFlags opens a directory on the way to another only to walk through
// it (see walkDir): O_PATH needs no permission to read it.
const walkFlags = unix.O_PATH
