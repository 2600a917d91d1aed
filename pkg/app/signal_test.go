//go:build unix

package app_test

import (
	"fmt"
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
// signal did), the process dying of it (a shell reports 143), not exiting
// 1, which told a script an interruption from a bug (tester).
func TestInterruptEndsAWaitingRead(t *testing.T) {
	ws, stderr := interruptWaitingImport(t, syscall.SIGTERM)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM || !strings.Contains(stderr, "interrupted while reading --certificate: stdin") {
		t.Errorf("status %v, stderr %q; want killed by SIGTERM, interrupted while reading", ws, stderr)
	}
}

// TestInterruptEndsAWaitingConfigRead: one SIGTERM ends a command whose
// config file is a named pipe nobody writes to (tester: --config FIFO
// outlived timeout(1)'s SIGTERM, ended only by a second one).
func TestInterruptEndsAWaitingConfigRead(t *testing.T) {
	bin := buildCertctl(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// config list and get read the settings their own way (review).
	for _, args := range [][]string{{"list"}, {"config", "list"}, {"config", "get", "store"}} {
		cmd := exec.Command(bin, append([]string{"--vault", filepath.Join(dir, "v"), "--config", fifo}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if !exitsWithin(cmd, 10*time.Second) {
			cmd.Process.Kill()
			t.Fatalf("%v: still running 10 s after one SIGTERM", args)
		}
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != syscall.SIGTERM || !strings.Contains(stderr.String(), "interrupted while reading the config file") {
			t.Errorf("%v: status %v, stderr %q; want killed by SIGTERM, interrupted while reading the config file", args, ws, stderr.String())
		}
	}
}

// TestInterruptExitCode: a command that SIGINT (Ctrl-C) stops reports it
// (its JSON error object coded Interrupted, exit code 130, not 1 and
// InternalFailure, which are a bug's) and then dies of the signal, as a
// process that does not handle it would: a shell running it in a script
// stops the script too, where one exiting 130 let the script go on
// (review).
func TestInterruptExitCode(t *testing.T) {
	ws, stderr := interruptWaitingImport(t, syscall.SIGINT, "-o", "json")
	if !ws.Signaled() || ws.Signal() != syscall.SIGINT || !strings.Contains(stderr, `"Code":"Interrupted"`) || !strings.Contains(stderr, `"ExitCode":130`) {
		t.Errorf("status %v, stderr %q; want killed by SIGINT after an Interrupted error object", ws, stderr)
	}
}

// TestInterruptStopsTheScript: Ctrl-C in a terminal signals the whole
// foreground group — the shell running a script and the certctl it runs;
// a shell stops the script only when certctl died of the signal (bash
// went on with the loop after certctl exited 130 — review).
func TestInterruptStopsTheScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	bin := buildCertctl(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	script := fmt.Sprintf(`for i in 1 2; do %q --vault %q import --certificate - --private-key /dev/null 2>/dev/null; echo "after $i"; done; echo finished`,
		bin, filepath.Join(t.TempDir(), "v"))
	cmd := exec.Command(bash, "-c", script)
	cmd.Stdin = pr // never closed: certctl waits on it
	var out strings.Builder
	cmd.Stdout = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	time.Sleep(500 * time.Millisecond)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil { // the group, as a terminal does
		t.Fatal(err)
	}
	if !exitsWithin(cmd, 10*time.Second) {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the script still runs 10 s after Ctrl-C; its output: %q", out.String())
	}
	if strings.Contains(out.String(), "after") || strings.Contains(out.String(), "finished") {
		t.Errorf("the script went on after Ctrl-C stopped certctl: %q", out.String())
	}
}

// interruptWaitingImport starts certctl import reading its certificate
// from a stdin that never ends (with the global flags given), sends it
// sig once it waits, and returns how it ended and its standard error.
func interruptWaitingImport(t *testing.T, sig syscall.Signal, global ...string) (syscall.WaitStatus, string) {
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
	if !exitsWithin(cmd, 10*time.Second) {
		cmd.Process.Kill()
		t.Fatalf("still running 10 s after one %v", sig)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus), stderr.String()
}

// exitsWithin waits for the started cmd to end, at most d, and reports
// whether it did.
func exitsWithin(cmd *exec.Cmd, d time.Duration) bool {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		return true
	case <-time.After(d):
		return false
	}
}

// TestInterruptAsPID1: as PID 1 of a PID namespace (a container without
// an init), where a process cannot die of its own signal, an interrupted
// command exits 143 for SIGTERM — not 2, a usage error's code, which the
// runtime falls back to (review: docker stop). Skipped where PID
// namespaces cannot be made (unshare needs the privilege).
func TestInterruptAsPID1(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil || exec.Command(unshare, "-fp", "--mount-proc", "true").Run() != nil {
		t.Skip("cannot make a PID namespace here (unshare -fp)")
	}
	bin := buildCertctl(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd := exec.Command(unshare, "-fp", "--mount-proc", bin, "--vault", filepath.Join(t.TempDir(), "v"), "import", "--certificate", "-", "--private-key", "/dev/null")
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	var child int
	for i := 0; i < 100 && child == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		fmt.Sscan(string(data), &child)
	}
	if child == 0 {
		cmd.Process.Kill()
		t.Fatal("certctl did not start under unshare")
	}
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !exitsWithin(cmd, 10*time.Second) {
		cmd.Process.Kill()
		t.Fatal("still running 10 s after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Errorf("as PID 1, interrupted by SIGTERM: exit %d (status %v), want 143", code, cmd.ProcessState)
	}
}
