package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// child is a running certctl process.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

func startChild(t *testing.T, vault string, args ...string) *child {
	t.Helper()
	c := &child{cmd: certctl(context.Background(), vault, args...), done: make(chan error, 1)}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start certctl: %v", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	return c
}

// waitOrKill waits until the child exits or, after d, kills it with
// SIGKILL. It reports whether the kill interrupted the child and, if not,
// its exit code.
func (c *child) waitOrKill(d time.Duration) (killed bool, code int) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var err error
	select {
	case err = <-c.done:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		err = <-c.done
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, -1
		}
		return false, ee.ExitCode()
	}
	if err != nil {
		return false, -1
	}
	return false, 0
}

// TestCrashSafety kills importing certctl processes with SIGKILL at random
// moments, 20 rounds on one vault. After each kill the vault opens, passes
// PRAGMA integrity_check, every certificate in it is whole (current
// version present, sealed key opens and matches), and every ARN a process
// printed before the kill is listed. Every fourth round kills a bulk
// --from-dir import instead.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	vault := filepath.Join(t.TempDir(), "vault")

	// How long a bulk import takes here, so that its kills land mid-way.
	calib := startChild(t, filepath.Join(t.TempDir(), "calib"), "import", "--from-dir", manyDir, "-o", "json")
	began := time.Now()
	if _, code := calib.waitOrKill(time.Minute); code != 0 {
		t.Fatalf("calibration bulk import: exit %d: %s", code, calib.stderr.Bytes())
	}
	bulkTime := time.Since(began)
	t.Logf("a bulk import of %d certificates takes %v", manyCount, bulkTime)

	reported := map[string]bool{}
	next, kills, completed, stored := 0, 0, 0, 0
	// At least 20 rounds, and more (up to 60) until 10 of them have killed
	// a running process: on a loaded machine a child can finish right at
	// its deadline, so how many rounds kill one is a matter of timing.
	for round := 0; round < 20 || (kills < 10 && round < 60); round++ {
		bulk := round%4 == 3
		if bulk {
			// Mostly mid-way; now and then after the commit or the end.
			d := time.Duration(rng.Int64N(int64(bulkTime)*3/2 + 1))
			c := startChild(t, vault, "import", "--from-dir", manyDir, "-o", "json")
			killed, code := c.waitOrKill(d)
			var res struct {
				Results []struct{ CertificateArn, Status string }
			}
			jsonErr := json.Unmarshal(c.stdout.Bytes(), &res)
			if killed {
				kills++
			} else {
				completed++
				if code != 0 || jsonErr != nil {
					t.Fatalf("round %d: bulk import exit %d (%v): %s", round, code, jsonErr, c.stderr.Bytes())
				}
			}
			// A complete report counts even if the kill came just after it.
			if jsonErr == nil {
				for _, r := range res.Results {
					if r.Status == "IMPORTED" {
						reported[r.CertificateArn] = true
					}
				}
			}
			t.Logf("round %d: bulk import, kill after %v: killed=%v", round, d, killed)
		} else {
			deadline := time.Now().Add(time.Duration(rng.IntN(301)) * time.Millisecond)
			for {
				c := startChild(t, vault, importArgs(next%manyCount)...)
				next++
				killed, code := c.waitOrKill(max(time.Until(deadline), 0))
				// Even a killed child may have printed its ARN just before.
				if arn := parseARN(c.stdout.Bytes()); arn != "" {
					reported[arn] = true
				}
				if killed {
					kills++
					break
				}
				completed++
				if code != 0 || c.stderr.Len() != 0 {
					t.Fatalf("round %d: import exit %d: %s", round, code, c.stderr.Bytes())
				}
				if time.Until(deadline) <= 0 {
					break
				}
			}
		}
		n := checkVault(t, vault)
		if bulk {
			t.Logf("round %d: the bulk import added %d certificates", round, n-stored)
		}
		stored = n
		listed := listARNs(t, vault)
		if len(listed) != n {
			t.Errorf("round %d: list shows %d certificates, the store holds %d", round, len(listed), n)
		}
		for arn := range reported {
			if !listed[arn] {
				t.Errorf("round %d: %s was reported imported and is not listed", round, arn)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d processes killed, %d completed, %d ARNs reported", kills, completed, len(reported))
	if kills < 10 {
		t.Errorf("only %d of 60 rounds killed a running process", kills)
	}
}
