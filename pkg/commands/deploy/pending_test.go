//go:build unix

package deploy_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
)

// pendingHook is a target whose command a `renew --due` is killed while
// running (see killMidCommand): its command appends to runs at each run,
// fails at the deploy that records it (so the passes install it), sleeps
// in the pass that is killed, and, while the file hold exists, waits for
// the file go (so that a test sees it running in another process).
type pendingHook struct {
	tg                                            target
	runs, first, started, killed, hold, held, go_ string
}

func newPendingHook(t *testing.T) pendingHook {
	tg := newTarget(t)
	p := func(name string) string { return filepath.Join(tg.dir, name) }
	return pendingHook{tg: tg, runs: p("runs"), first: p("first"), started: p("started"), killed: p("killed"),
		hold: p("hold"), held: p("held"), go_: p("go")}
}

func (h pendingHook) exec() string {
	return "echo run >> " + shq(h.runs) + "; " +
		"[ -e " + shq(h.first) + " ] || { touch " + shq(h.first) + "; exit 1; }; " +
		"[ -e " + shq(h.killed) + " ] || { touch " + shq(h.started) + "; sleep 60; }; " +
		"if [ -e " + shq(h.hold) + " ]; then touch " + shq(h.held) + "; while [ ! -e " + shq(h.go_) + " ]; do sleep 0.05; done; fi"
}

// startCertctl starts certctl (this test binary as certctl) in a process
// of its own, in a process group of its own, on e's vault and store.
func startCertctl(t *testing.T, e *clitest.Env, args ...string) (*exec.Cmd, <-chan error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), runAsCertctl+"=1")
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	return cmd, done
}

// waitFile waits until path exists; it fails the test when the process
// whose done is given exits first, or after a minute.
func waitFile(t *testing.T, path string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("certctl exited (%v) before %s appeared", err, filepath.Base(path))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", filepath.Base(path))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killWhen starts certctl with args in a process group of its own and,
// once file exists, kills it and all it started (kill -9, as a reboot
// would stop them).
func killWhen(t *testing.T, e *clitest.Env, file string, args ...string) {
	t.Helper()
	cmd, done := startCertctl(t, e, args...)
	waitFile(t, file, done)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := <-done; !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("certctl %s: %v, want killed", strings.Join(args, " "), err)
	}
}

// killMidCommand deploys h's target for arn (its command failing, so that
// the next pass installs it) and kills a `renew --due` (kill -9 of certctl
// and its command, as a reboot would stop them) while that pass runs the
// command, after it installed the files and remembered the install.
func killMidCommand(t *testing.T, e *clitest.Env, arn string, h pendingHook) {
	t.Helper()
	if r := e.Run(h.tg.args(arn, "--exec", h.exec())...); r.Code != 1 {
		t.Fatalf("deploy with a failing command: %v", r)
	}
	killWhen(t, e, h.started, "renew", "--due", "-o", "json")
	if n := clitest.LineCount(t, h.runs); n != 2 {
		t.Fatalf("%d runs before the kill, want 2 (the deploy, the killed pass)", n)
	}
	if err := os.WriteFile(h.killed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkRunAgainOnce checks that the next `renew --due` runs h's command
// left pending by a kill again, once — runs times in all — installing
// arn's current version, and that the pass after it has nothing to do.
func checkRunAgainOnce(t *testing.T, e *clitest.Env, arn string, h pendingHook, runs int) {
	t.Helper()
	code, res, r := e.Renew("--due")
	if code != 0 || !strings.Contains(res[arn].Reason, "redeployed to file:"+h.tg.cert) {
		t.Fatalf("the pass after the kill: %v", r)
	}
	if n := clitest.LineCount(t, h.runs); n != runs {
		t.Fatalf("the command ran %d times, want %d: the interrupted run was not run again", n, runs)
	}
	checkInstalled(t, e, arn, h.tg)
	code, res, r = e.Renew("--due")
	if code != 0 || len(res[arn].Targets) != 0 || clitest.LineCount(t, h.runs) != runs {
		t.Fatalf("the pass after that: %v (%d runs), want nothing done", r, clitest.LineCount(t, h.runs))
	}
}

// TestKilledCommandRunAgain: a `renew --due` killed while a target's
// command ran (after the files were written and the install remembered)
// leaves the command pending: the next pass runs it, once, and the one
// after has nothing left to do.
func TestKilledCommandRunAgain(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		arn := e.RequestPrivate("killed.internal")
		h := newPendingHook(t)
		killMidCommand(t, e, arn, h)

		checkRunAgainOnce(t, e, arn, h, 3)
	})
}

// TestPendingCommandRunningElsewhere: a command left pending by a killed
// pass, which another certctl process of the host is now running (it
// holds the command's lock), is not run a second time by a pass at the
// same moment: that pass reports the target INSTALLED, its command
// running elsewhere. Once that run ends, nothing is left to do.
func TestPendingCommandRunningElsewhere(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		arn := e.RequestPrivate("elsewhere.internal")
		h := newPendingHook(t)
		killMidCommand(t, e, arn, h)

		if err := os.WriteFile(h.hold, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, done := startCertctl(t, e, "renew", "--due", "-o", "json")
		waitFile(t, h.held, done)
		code, res, r := e.Renew("--due")
		if n := clitest.LineCount(t, h.runs); n != 3 {
			t.Fatalf("the command ran %d times, want 3: run again while another process ran it", n)
		}
		if ts := res[arn].Targets; code != 0 || len(ts) != 1 || ts[0].Outcome != "INSTALLED" ||
			!strings.Contains(ts[0].Reason, "running in another certctl process") {
			t.Fatalf("a pass while another process runs the pending command: %v", r)
		}
		if err := os.WriteFile(h.go_, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the pass that ran the pending command: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the pass that ran the pending command did not end")
		}
		code, res, r = e.Renew("--due")
		if code != 0 || len(res[arn].Targets) != 0 || clitest.LineCount(t, h.runs) != 3 {
			t.Fatalf("the pass after the run: %v (%d runs), want nothing done", r, clitest.LineCount(t, h.runs))
		}
		checkInstalled(t, e, arn, h.tg)
	})
}

// TestFirstDeployKilledMidCommand: a first `certctl deploy` killed while
// its command runs (kill -9, as a reboot would stop it) has recorded its
// target already: the certificate is in use (eligible for renewal), and
// the next `renew --due` runs the command again, once (tester: the target
// was lost, the certificate never renewed).
func TestFirstDeployKilledMidCommand(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		arn := e.RequestPrivate("first-killed.internal")
		h := newPendingHook(t)
		hook := "echo run >> " + shq(h.runs) + "; [ -e " + shq(h.killed) + " ] || { touch " + shq(h.started) + "; sleep 60; }"
		killWhen(t, e, h.started, h.tg.args(arn, "--exec", hook)...)
		if err := os.WriteFile(h.killed, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Certificate struct {
				InUseBy            []string
				RenewalEligibility string
			}
		}
		e.JSON(&d, "describe", arn)
		if len(d.Certificate.InUseBy) != 1 || d.Certificate.RenewalEligibility != "ELIGIBLE" {
			t.Fatalf("after the killed deploy: InUseBy %v, %s; want the target, ELIGIBLE", d.Certificate.InUseBy, d.Certificate.RenewalEligibility)
		}
		checkRunAgainOnce(t, e, arn, h, 2)
	})
}
