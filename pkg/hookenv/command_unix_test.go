//go:build unix

package hookenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandStopsWhatItStarted: when the hook's context ends, every
// process the hook started is stopped, not the shell alone (tester: a
// hook's `sleep` outlived its 2-minute limit).
func TestCommandStopsWhatItStarted(t *testing.T) {
	defer func(f func() bool) { terminal = f }(terminal)
	terminal = func() bool { return false }
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	cmd := Command(ctx, "sleep 30 & echo $! > "+pidFile+"; wait")
	start := time.Now()
	if err := cmd.Run(); err == nil {
		t.Fatal("the hook was not stopped")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("stopped after %s", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the hook's child %d still runs (%v)", pid, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommandOnTerminalStaysInForeground: with a controlling terminal the
// hook keeps certctl's process group, the terminal's foreground one, so
// that it can ask there (review: sudo's password prompt stopped, SIGTTIN).
func TestCommandOnTerminalStaysInForeground(t *testing.T) {
	defer func(f func() bool) { terminal = f }(terminal)
	terminal = func() bool { return true }
	if cmd := Command(context.Background(), "true"); cmd.SysProcAttr != nil {
		t.Errorf("on a terminal the hook gets its own process group: %+v", cmd.SysProcAttr)
	}
	terminal = func() bool { return false }
	if cmd := Command(context.Background(), "true"); cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid {
		t.Error("without a terminal the hook does not get its own process group")
	}
}
