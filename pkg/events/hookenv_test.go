package events

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHookSeesNoSecret(t *testing.T) {
	t.Setenv("CERTCTL_VAULT_PASSPHRASE", "pw-hook-test")
	t.Setenv("CERTCTL_STORE", "postgres://u:store-secret@h/db")
	out := filepath.Join(t.TempDir(), "env")
	Deliver(context.Background(), "env > "+out, []*Event{{DetailType: Available}}, io.Discard)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.Contains(s, "pw-hook-test") || strings.Contains(s, "store-secret") {
		t.Fatalf("the event hook saw a secret:\n%s", s)
	}
	if !strings.Contains(s, "CERTCTL_EVENT_TYPE="+Available) {
		t.Fatalf("the event hook lacks CERTCTL_EVENT_TYPE:\n%s", s)
	}
}

// TestHookStartingDaemonDoesNotHang: an event hook that leaves a process
// holding its output ends when the hook does, without a failure reported,
// even when that output is copied (not a file).
func TestHookStartingDaemonDoesNotHang(t *testing.T) {
	var out strings.Builder
	done := make(chan struct{})
	go func() {
		Deliver(context.Background(), "cat >/dev/null; sleep 30 &", []*Event{{DetailType: Available}}, &out)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Deliver waited for the daemon the hook started")
	}
	if strings.Contains(out.String(), "failed") {
		t.Fatalf("a hook that exited 0 was reported failed: %s", out.String())
	}
}

// fileOut hands out its file, as stderr on a terminal does under a status
// line (iostreams).
type fileOut struct{ f *os.File }

func (w fileOut) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w fileOut) File() *os.File              { return w.f }

// An event hook writes to the file behind an output that hands one out
// (the terminal itself), through a pipe to any other output.
func TestHookWritesToTheFileHandedOut(t *testing.T) {
	const hook = `cat >/dev/null; if [ -p /dev/stdout ]; then echo pipe; else echo file; fi`
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	Deliver(context.Background(), hook, []*Event{{DetailType: Available}}, fileOut{f})
	var b strings.Builder
	Deliver(context.Background(), hook, []*Event{{DetailType: Available}}, &b)
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "file\n" || b.String() != "pipe\n" {
		t.Errorf("the hook wrote to a %q (file handed out) and a %q (a buffer), want file and pipe", data, b.String())
	}
}

// TestHookThatHangsRests: a run of the event hook that times out is said
// to (not "signal: killed"), and the hook is not run again for HookRest —
// the rest of the batch and the next batches are left to certctl events,
// said once a batch — so that a hanging hook holds up a renewal pass once,
// not once an event (tester: two minutes for four events).
func TestHookThatHangsRests(t *testing.T) {
	defer func(d time.Duration) { HookTimeout = d }(HookTimeout)
	HookTimeout = 300 * time.Millisecond
	hookRestUntil.Store(0)
	defer hookRestUntil.Store(0)
	runs := filepath.Join(t.TempDir(), "runs")
	hook := "echo run >> " + runs + "; sleep 5"
	evs := []*Event{{DetailType: Available}, {DetailType: Expired}, {DetailType: Revoked}}
	var out strings.Builder
	start := time.Now()
	Deliver(context.Background(), hook, evs, &out)
	Deliver(context.Background(), hook, evs[:1], &out)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("two batches took %s: the hook was waited for more than once", d)
	}
	data, _ := os.ReadFile(runs)
	if n := strings.Count(string(data), "run"); n != 1 {
		t.Errorf("the hook ran %d times, want once", n)
	}
	got := out.String()
	for _, want := range []string{"event hook timed out after 300ms for " + Available + " (killed); not run again for 5m0s",
		"event hook not run for 2 event(s)", "event hook not run for 1 event(s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "signal: killed") {
		t.Errorf("the timeout reads as a failure:\n%s", got)
	}
}

// TestHookAlwaysInAServer: a server (RunHookAlways) runs the hook for
// every event however many time out — no later pass would deliver those
// a rest skipped (review).
func TestHookAlwaysInAServer(t *testing.T) {
	defer func(d time.Duration) { HookTimeout = d }(HookTimeout)
	HookTimeout = 200 * time.Millisecond
	hookRestUntil.Store(0)
	defer hookRestUntil.Store(0)
	RunHookAlways()
	defer hookAlways.Store(false)
	runs := filepath.Join(t.TempDir(), "runs")
	var out strings.Builder
	Deliver(context.Background(), "echo run >> "+runs+"; sleep 5", []*Event{{DetailType: Available}, {DetailType: Revoked}}, &out)
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	WaitHooks(wait)
	data, _ := os.ReadFile(runs)
	if n := strings.Count(string(data), "run"); n != 2 {
		t.Errorf("the hook ran %d times, want once an event:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), "not run") || strings.Count(out.String(), "timed out after 200ms") != 2 {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestServerHookApartFromTheRequest: a server's hook runs apart from the
// request whose change made the event: the request does not wait for it,
// and its end (a deadline, a client gone) does not kill it (tester: under
// endpoint serve the hook was killed at the request's 10-second deadline,
// and every finalize waited on it). The events run in the order they came.
func TestServerHookApartFromTheRequest(t *testing.T) {
	RunHookAlways()
	defer hookAlways.Store(false)
	runs := filepath.Join(t.TempDir(), "runs")
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	start := time.Now()
	Deliver(ctx, "sleep 0.3; cat >> "+runs, []*Event{{DetailType: Available}}, &out)
	Deliver(ctx, "cat >> "+runs, []*Event{{DetailType: Revoked}}, &out)
	cancel() // the request is over
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("the request waited %v for the hook", d)
	}
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	WaitHooks(wait)
	data, _ := os.ReadFile(runs)
	if got := string(data); strings.Index(got, Available) < 0 || strings.Index(got, Revoked) < strings.Index(got, Available) {
		t.Errorf("the hook got %q (output %q), want both events in order", got, out.String())
	}
}

// TestWaitHooksCountsLeftovers: a server stopping while its hook still
// runs is told how many events it leaves undelivered (review: they were
// dropped without a word).
func TestWaitHooksCountsLeftovers(t *testing.T) {
	RunHookAlways()
	defer hookAlways.Store(false)
	var out strings.Builder
	Deliver(context.Background(), "sleep 1", []*Event{{DetailType: Available}, {DetailType: Revoked}}, &out)
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if n := WaitHooks(short); n != 2 {
		t.Errorf("left %d undelivered, want 2", n)
	}
	long, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if n := WaitHooks(long); n != 0 {
		t.Errorf("left %d after waiting, want 0", n)
	}
}

// TestHookRelativeNotRun: an event hook whose program is named by a
// relative path (set before hooks ran in /, which config set now refuses)
// is not run — in / it would be another program, or none — and says so
// (review).
func TestHookRelativeNotRun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("hook.sh", []byte("#!/bin/sh\ntouch "+dir+"/ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Deliver(context.Background(), "./hook.sh", []*Event{{DetailType: Available}}, &out)
	if _, err := os.Stat(dir + "/ran"); err == nil {
		t.Error("the hook ran")
	}
	if !strings.Contains(out.String(), "event hook not run for 1 event(s): it names ./hook.sh by a relative path") {
		t.Errorf("said %q", out.String())
	}
}
