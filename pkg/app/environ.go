package app

import (
	"os"

	"github.com/certctl/certctl/pkg/hookenv"
)

// protectEnviron keeps a secret in certctl's environment from the
// commands it runs (hookenv.ProtectSecrets).
func protectEnviron() {
	if hookenv.HoldsSecret(os.Environ()) {
		hookenv.ProtectSecrets()
	}
}
