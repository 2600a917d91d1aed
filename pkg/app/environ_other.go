//go:build !linux

package app

// protectEnviron does nothing outside Linux: there another process of the
// same user may still read certctl's environment (ps eww on macOS), so a
// secret is better given in a file (--vault-passphrase-file).
func protectEnviron() {}
