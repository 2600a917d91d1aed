package hookenv

import (
	"context"
	"io"
	"os"
	"os/exec"

	"github.com/certctl/certctl/pkg/shellarg"
)

// Command is the command certctl runs for the user: script through
// /bin/sh -c, in the environment Environ(extra...) gives, in the directory
// shellarg.HookDir — wherever certctl runs, so that a command runs at a
// renewal as it ran when it was set up. When ctx ends
// (the hook's time limit, an interruption) the whole command is stopped —
// without a terminal (cron, a timer) on Unix, every process it started, in
// its own process group, not the shell alone (a `sleep` or a reload script
// it ran would go on, orphaned); on a terminal the command keeps the
// terminal's foreground group, so that it can ask there (sudo).
func Command(ctx context.Context, script string, extra ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.Env = Environ(extra...)
	cmd.Dir = shellarg.HookDir
	ownProcessGroup(cmd)
	return cmd
}

// Output is what a hook's command writes to, given w: the file behind w
// when w hands one out — stderr on a terminal, where a status line may be
// drawn (iostreams; it is erased first) — so that the command writes to
// the terminal itself, as one run from a shell does (a daemon it starts
// then holds no pipe that certctl would wait on); otherwise w.
func Output(w io.Writer) io.Writer {
	if f, ok := w.(interface{ File() *os.File }); ok {
		if file := f.File(); file != nil {
			return file
		}
	}
	return w
}
