//go:build unix

package hookenv

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd in a process group of its own and makes its
// cancellation kill the group — when certctl has no controlling terminal
// (cron, a timer, a service). With one, the command stays in the
// foreground group: it may ask on the terminal (sudo's password), which a
// background group cannot (SIGTTIN), and Ctrl-C reaches what it started
// from the terminal itself.
func ownProcessGroup(cmd *exec.Cmd) {
	if terminal() {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// terminal reports whether the process has a controlling terminal (tests
// replace it).
var terminal = hasTerminal

func hasTerminal() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	f.Close()
	return true
}
