//go:build !linux

package hookenv

// ProtectSecrets does nothing outside Linux: there another process of the
// same user may still read certctl's environment (ps eww on macOS), so a
// secret is better given in a file (--vault-passphrase-file).
func ProtectSecrets() {}
