// Package hookenv builds the environment of the commands certctl runs for
// the user — deploy --exec reload commands and the hooks.event command —
// so that no secret of certctl's reaches them: the inherited environment
// without any CERTCTL_* variable (the vault passphrase, a store URL with
// its password, SMTP settings) or libpq's password variables, plus the
// documented CERTCTL_* variables about the certificate or event at hand.
package hookenv

import (
	"os"
	"strings"

	"github.com/certctl/certctl/pkg/localstore"
)

// dropped reports whether an inherited variable stays out of a hook's
// environment.
func dropped(name string) bool {
	if strings.HasPrefix(name, "CERTCTL_") {
		return true
	}
	switch name {
	case "PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE":
		return true
	}
	return false
}

// Environ is os.Environ() less certctl's settings and secrets, followed by
// extra ("NAME=value" pairs that the hook is documented to receive).
func Environ(extra ...string) []string {
	return From(os.Environ(), extra...)
}

// From is Environ over a given inherited environment.
func From(inherited []string, extra ...string) []string {
	out := make([]string, 0, len(inherited)+len(extra))
	for _, kv := range inherited {
		name, _, _ := strings.Cut(kv, "=")
		if !dropped(name) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// HoldsSecret reports whether environ, certctl's own environment, holds a
// secret of certctl's: the vault passphrase, libpq's password, or a store
// URL with a password. Such a process keeps its environment from the
// commands it runs, which could otherwise read it back from
// /proc/<parent>/environ (tester) — see app's protectEnviron.
func HoldsSecret(environ []string) bool {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" {
			continue
		}
		switch name {
		case "CERTCTL_VAULT_PASSPHRASE", "PGPASSWORD":
			return true
		case "CERTCTL_STORE":
			if storeHasPassword(value) {
				return true
			}
		}
	}
	return false
}

// storeHasPassword reports whether the store URL u names a password: one
// localstore.RedactURL, which every message showing a store URL goes
// through, would hide.
func storeHasPassword(u string) bool { return localstore.RedactURL(u) != u }
