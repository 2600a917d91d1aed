package app

import (
	"os"
	"syscall"

	"github.com/certctl/certctl/pkg/hookenv"
)

// protectEnviron makes the process non-dumpable (prctl PR_SET_DUMPABLE 0,
// as ssh-agent and gpg-agent do) when its environment holds a secret
// (hookenv.HoldsSecret): its /proc/<pid>/environ, and ptrace, are then out
// of reach of other processes of the same user — a deploy or event hook
// stripped of certctl's variables could read the vault passphrase back
// from its parent's environ (tester). Root still can; so can the user with
// core dumps turned on elsewhere, which this turns off for certctl.
func protectEnviron() {
	if hookenv.HoldsSecret(os.Environ()) {
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)
	}
}
