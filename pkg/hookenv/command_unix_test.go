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
