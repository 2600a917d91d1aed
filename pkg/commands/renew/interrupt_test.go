package renew_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service"
)

// renewInterrupted runs `renew args… -o json` in a new Env of n exported
// certificates, cancelling its context (as Ctrl-C or SIGTERM does) at the
// cancelAt-th reading of the clock (never when 0); it returns how many
// times the clock was read, the exit code, the outcomes by count, stderr
// and the renewals recorded.
func renewInterrupted(t *testing.T, n int, cancelAt int64, args ...string) (reads int64, code errs.ExitCode, outcomes map[string]int, stderr string, recorded int) {
	reads, code, stdout, stderr, e := renewInterruptedOutput(t, n, cancelAt, args...)
	var rep struct {
		Results []struct{ CertificateArn, Outcome string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("exit %d: stdout is not the report (%v):\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	if len(rep.Results) != n {
		t.Fatalf("%d results, want %d:\n%s", len(rep.Results), n, stdout)
	}
	outcomes = map[string]int{}
	for _, r := range rep.Results {
		outcomes[r.Outcome]++
	}
	for _, r := range auditLog(t, e) {
		if r.EventName == "RenewCertificate" && r.Outcome == audit.OutcomeSuccess {
			recorded++
		}
	}
	return reads, code, outcomes, stderr, recorded
}

// renewInterruptedOutput is renewInterrupted's run: the clock reads, the
// exit code, stdout and stderr, and the Env.
func renewInterruptedOutput(t *testing.T, n int, cancelAt int64, args ...string) (int64, errs.ExitCode, string, string, *clitest.Env) {
	e := clitest.New(t)
	for i := 0; i < n; i++ {
		e.Export(e.RequestPrivate(fmt.Sprintf("h%d.int.internal", i)))
	}
	f, out, errOut := e.Factory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := e.Now()
	var calls atomic.Int64
	f.Now = func() time.Time {
		if calls.Add(1) == cancelAt {
			cancel()
		}
		return now
	}
	code := app.Run(ctx, f, append(append([]string{"renew"}, args...), "-o", "json"))
	return calls.Load(), code, out.String(), errOut.String(), e
}

// TestRenewInterruptedReportsWhatWasDone: renew --due and renew of a
// selection, interrupted halfway, print the outcome of every certificate
// renewed so far and the others as FAILED (not done), and exit 7 saying they were
// interrupted (not 1 with an empty stdout).
func TestRenewInterruptedReportsWhatWasDone(t *testing.T) {
	for _, args := range [][]string{
		{"--due", "--within", "400d"},
		{"--query-terse", "san:*.int.internal", "--yes"},
	} {
		t.Run(args[0], func(t *testing.T) {
			const n = 4
			total, code, outcomes, _, _ := renewInterrupted(t, n, 0, args...)
			if code != 0 || outcomes["RENEWED"] != n {
				t.Fatalf("uninterrupted: exit %d, %v", code, outcomes)
			}
			_, code, outcomes, stderr, recorded := renewInterrupted(t, n, total/2, args...)
			if code != errs.ExitPartial || !strings.Contains(stderr, "certctl: interrupted: ") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 7 saying it was interrupted", code, stderr)
			}
			// SPEC's renew outcomes have no NOT_DONE: a certificate not
			// reached is FAILED, with the reason saying why.
			if outcomes["RENEWED"] == 0 || outcomes["FAILED"] == 0 || outcomes["RENEWED"]+outcomes["FAILED"] != n {
				t.Errorf("outcomes %v, want some RENEWED, the others FAILED (not done)", outcomes)
			}
			if !strings.Contains(stderr, service.ReasonNotDone) {
				t.Errorf("stderr does not name the reason %q:\n%s", service.ReasonNotDone, stderr)
			}
			if recorded != outcomes["RENEWED"] {
				t.Errorf("%d renewals recorded, %d reported", recorded, outcomes["RENEWED"])
			}
		})
	}
}

// TestRenewDueInterruptedWhileDeploying: an interruption while renew --due
// runs a deploy command still prints the report of the renewals (exit 7,
// saying deploying was interrupted), not an empty stdout and exit 1.
func TestRenewDueInterruptedWhileDeploying(t *testing.T) {
	e := clitest.New(t)
	marker := filepath.Join(e.Dir, "hook-started")
	for i := 0; i < 2; i++ {
		arn := e.RequestPrivate(fmt.Sprintf("d%d.int.internal", i))
		e.MustRun("deploy", arn, "--cert-file", filepath.Join(e.Dir, fmt.Sprintf("d%d.crt", i)),
			"--key-file", filepath.Join(e.Dir, fmt.Sprintf("d%d.key", i)), "--exec", "touch "+marker+"; sleep 3")
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	f, out, errOut := e.Factory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(marker); err == nil {
				cancel()
				return
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	code := app.Run(ctx, f, []string{"renew", "--due", "--within", "800d", "-o", "json"})
	var rep struct {
		Results []struct {
			CertificateArn, Outcome, Reason string
			Targets                         []struct{ Target, Outcome, Reason string }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d: stdout is not the report (%v):\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if code != errs.ExitPartial || !strings.Contains(errOut.String(), "interrupted while deploying") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 7 saying deploying was interrupted", code, errOut)
	}
	if len(rep.Results) != 2 || rep.Results[0].Outcome != "RENEWED" || rep.Results[1].Outcome != "RENEWED" {
		t.Errorf("results %+v, want both RENEWED", rep.Results)
	}
	// Each renewal says what became of its target, both NOT_DONE: the one
	// whose command the interruption stopped (its files installed, the
	// command run again by the next pass — review: it read FAILED, "signal:
	// killed"), and the one not reached — neither a plain RENEWED that
	// reads as installed (tester) nor a failure.
	var reasons []string
	for _, r := range rep.Results {
		if len(r.Targets) != 1 || r.Targets[0].Outcome != "NOT_DONE" {
			t.Errorf("%s: targets %+v, want its one target NOT_DONE", r.CertificateArn, r.Targets)
			continue
		}
		reasons = append(reasons, r.Reason)
	}
	slices.Sort(reasons)
	if len(reasons) != 2 || !strings.Contains(reasons[0], "installed, but a command not run: the command was interrupted") ||
		!strings.Contains(reasons[1], "renewed, not deployed: the command was interrupted") {
		t.Errorf("reasons %q", reasons)
	}
	if strings.Contains(errOut.String(), "deployment(s) failed") || strings.Contains(out.String(), "signal: killed") {
		t.Errorf("an interrupted command reported as a failure:\n%s\n%s", out, errOut)
	}
}

// TestDryRunInterrupted: a dry run interrupted while it asks the CAs
// reports the certificates not reached as not done (exit 7, interrupted),
// never as renewals that "would fail" with the interruption as reason
// (review).
func TestDryRunInterrupted(t *testing.T) {
	for _, args := range [][]string{
		{"--due", "--within", "400d", "--dry-run"},
		{"--query-terse", "san:*.int.internal", "--dry-run"},
	} {
		t.Run(args[0], func(t *testing.T) {
			const n = 4
			total, code, outcomes, _, _ := renewInterrupted(t, n, 0, args...)
			if code != 0 || outcomes["RENEWED"] != n {
				t.Fatalf("uninterrupted: exit %d, %v", code, outcomes)
			}
			for at := int64(1); at <= total; at++ {
				_, code, out, stderr, _ := renewInterruptedOutput(t, n, at, args...)
				if strings.Contains(out, "context canceled") || strings.Contains(out, "would fail") {
					t.Fatalf("interrupted at clock read %d of %d: exit %d, the interruption reported as an outcome:\n%s\n%s", at, total, code, out, stderr)
				}
			}
		})
	}
}

// TestRenewInterruptedAtEachStep: renew --due interrupted at each step in
// turn (each time it asks whether it was: the context's Err) exits 7
// exactly when it left a certificate not done, and 0 when the
// interruption came after the last one was renewed (review: "interrupted
// while deploying", exit 7, for a pass with nothing left to deploy).
func TestRenewInterruptedAtEachStep(t *testing.T) {
	const n = 2
	run := func(after int64) (asked int64, code errs.ExitCode, renewed int, stderr string) {
		e := clitest.New(t)
		for i := 0; i < n; i++ {
			e.Export(e.RequestPrivate(fmt.Sprintf("s%d.int.internal", i)))
		}
		f, out, errOut := e.Factory()
		ctx := &errAfter{Context: context.Background(), after: after}
		code = app.Run(ctx, f, []string{"renew", "--due", "--within", "400d", "-o", "json"})
		var rep struct{ Results []struct{ Outcome string } }
		if out.Len() == 0 && code == errs.ExitFailure && strings.Contains(errOut.String(), "interrupted") {
			// Stopped before the pass began: nothing to report.
			return ctx.asked.Load(), code, -1, errOut.String()
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("exit %d: stdout is not the report (%v):\n%s\n%s", code, err, out, errOut)
		}
		for _, r := range rep.Results {
			if r.Outcome == "RENEWED" {
				renewed++
			}
		}
		return ctx.asked.Load(), code, renewed, errOut.String()
	}
	total, code, renewed, _ := run(-1)
	if code != 0 || renewed != n {
		t.Fatalf("uninterrupted: exit %d, %d renewed", code, renewed)
	}
	late := 0
	for after := int64(0); after < total; after++ {
		_, code, renewed, stderr := run(after)
		if renewed < 0 {
			continue // before the pass
		}
		if renewed == n {
			late++
		}
		if (renewed == n) != (code == 0) || (renewed != n && code != errs.ExitPartial) {
			t.Errorf("interrupted after %d of %d asks: exit %d, %d of %d renewed; want 0 when all were, else 7\n%s", after, total, code, renewed, n, stderr)
		}
	}
	if late == 0 {
		t.Error("no interruption came after the last renewal: the test tests nothing of it")
	}
}

// errAfter is a context that reports itself cancelled (Err) from its
// after+1-th ask on (never, for a negative after), counting the asks.
type errAfter struct {
	context.Context
	after int64
	asked atomic.Int64
}

func (c *errAfter) Err() error {
	if n := c.asked.Add(1); c.after >= 0 && n > c.after {
		return context.Canceled
	}
	return nil
}
