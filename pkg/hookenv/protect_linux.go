package hookenv

import "syscall"

// ProtectSecrets makes this process non-dumpable (prctl PR_SET_DUMPABLE
// 0, as ssh-agent and gpg-agent do): its /proc/<pid>/environ and memory,
// and ptrace, are then out of reach of other processes of the same user —
// the commands certctl runs among them, which could otherwise read back
// the vault passphrase from their parent's environment (tester) or the
// unwrapped master key from its memory (review). Root still can. Call it
// once a secret is in the process: the environment holds one
// (HoldsSecret), or a passphrase was read.
func ProtectSecrets() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)
}
