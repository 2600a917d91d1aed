//go:build unix

package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/app"
)

// TestSignalDeliveredTwice: the same interruption delivered twice at once
// — timeout(1) and a kill of the process group signal certctl itself and
// its group — is one interruption: the second, within the grace, is taken
// like the first instead of killing the process (tester: a deploy killed
// between installing its files and recording them). Without the grace
// this test process itself dies of the second SIGINT.
func TestSignalDeliveredTwice(t *testing.T) {
	ctx, stop := app.InterruptContext(time.Minute)
	defer stop()
	self := os.Getpid()
	if err := syscall.Kill(self, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first SIGINT did not cancel the context")
	}
	time.Sleep(100 * time.Millisecond) // as timeout(1)'s second delivery may come
	if err := syscall.Kill(self, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the second signal is delivered by now
}

// TestInterruptEndsAWaitingRead: one SIGTERM (as timeout(1) sends) ends
// a command still waiting for its input on stdin (tester: only a second
// signal did), exit 143 as a shell reports a process SIGTERM killed
// (tester: exit 1 told a script an interruption from a bug).
func TestInterruptEndsAWaitingRead(t *testing.T) {
	code, stderr := interruptWaitingImport(t, syscall.SIGTERM)
	if code != 143 || !strings.Contains(stderr, "interrupted while reading --certificate: stdin") {
		t.Errorf("exit %d, stderr %q; want exit 143, interrupted while reading", code, stderr)
	}
}

// TestInterruptExitCode: a command that SIGINT (Ctrl-C) stops exits 130,
// its JSON error object coded Interrupted, not 1 (InternalFailure), which
// is a bug's.
func TestInterruptExitCode(t *testing.T) {
	code, stderr := interruptWaitingImport(t, syscall.SIGINT, "-o", "json")
	if code != 130 || !strings.Contains(stderr, `"Code":"Interrupted"`) || !strings.Contains(stderr, `"ExitCode":130`) {
		t.Errorf("exit %d, stderr %q; want exit 130 and an Interrupted error object", code, stderr)
	}
}

// interruptWaitingImport starts certctl import reading its certificate
// from a stdin that never ends (with the global flags given), sends it
// sig once it waits, and returns its exit code and standard error.
func interruptWaitingImport(t *testing.T, sig syscall.Signal, global ...string) (int, string) {
	t.Helper()
	bin := buildCertctl(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	args := append([]string{"--vault", filepath.Join(t.TempDir(), "v")}, global...)
	cmd := exec.Command(bin, append(args, "import", "--certificate", "-", "--private-key", "/dev/null")...)
	cmd.Stdin = pr
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 10 s after one %v", sig)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
