package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
)

// TestPendingHook: an install of a target with a command is remembered
// with the command pending, which makes the target stale for the next
// process of the host until HookDone or HookFailed notes how the command
// ended. A pending command whose lock another holder has is HookRunning
// (not run twice); once that holder is gone (killed: the system released
// its lock), the next process claims it. A command claimed is not
// claimed again while it runs.
func TestPendingHook(t *testing.T) {
	dir := t.TempDir()
	h, err := LocalHost(dir, "h")
	if err != nil {
		t.Fatal(err)
	}
	m := testMaterial(t, 1, time.Now().Add(-time.Hour))
	in, err := m.Identify()
	if err != nil {
		t.Fatal(err)
	}
	cur := Identity{Version: in.Version, Serial: in.Serial, NotBefore: in.NotBefore}
	tg := h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem", Exec: "true"})
	tg.Version = in.Version
	if err := h.Remember("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	// The next certctl process of the host (its own record read).
	next := func() Host {
		h, err := LocalHost(dir, "h")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if !next().Stale("c1", tg, cur) {
		t.Fatal("a target whose command is pending is not stale: the next pass would not run it")
	}
	if install, why, _ := next().Decide("c1", tg, in, time.Now()); install || why != "" {
		t.Fatalf("Decide on the pending install: %v %q, want it installed already", install, why)
	}

	// Its command running in another process (its lock held).
	unlock, err := fsutil.Lock(context.Background(), h.hookLockPath("c1", tg), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := next().ClaimHook("c1", tg, in); err != nil || st != HookRunning {
		t.Fatalf("ClaimHook while another process runs it: %v %v, want HookRunning", st, err)
	}
	unlock() // that process was killed

	release, st, err := next().ClaimHook("c1", tg, in)
	if err != nil || st != HookClaimed {
		t.Fatalf("ClaimHook after its runner died: %v %v, want HookClaimed", st, err)
	}
	if _, st, err := next().ClaimHook("c1", tg, in); err != nil || st != HookRunning {
		t.Fatalf("ClaimHook while this claim runs it: %v %v, want HookRunning", st, err)
	}
	if err := h.HookDone("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	release()
	if next().Stale("c1", tg, cur) {
		t.Fatal("a target whose command succeeded is still stale")
	}
	if _, st, err := next().ClaimHook("c1", tg, in); err != nil || st != HookNone {
		t.Fatalf("ClaimHook after HookDone: %v %v, want HookNone", st, err)
	}

	// A failed command: not pending, but installed again by the next pass
	// (which retries the command).
	if err := h.Remember("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	if err := h.HookFailed("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	if _, st, err := next().ClaimHook("c1", tg, in); err != nil || st != HookNone {
		t.Fatalf("ClaimHook after HookFailed: %v %v, want HookNone", st, err)
	}
	if install, why, _ := next().Decide("c1", tg, in, time.Now()); !install {
		t.Fatalf("Decide after HookFailed: %v %q, want it installed again", install, why)
	}

	// A target without a command has none pending.
	plain := h.Bind("c2", Target{CertFile: "/x/c2.pem", KeyFile: "/x/k2.pem"})
	if err := h.Remember("c2", plain, in); err != nil {
		t.Fatal(err)
	}
	if next().Stale("c2", plain, cur) {
		t.Fatal("an installed target without a command is stale")
	}
	if _, st, err := next().ClaimHook("c2", plain, in); err != nil || st != HookNone {
		t.Fatalf("ClaimHook of a target without a command: %v %v, want HookNone", st, err)
	}
}

// TestAwaitHook: the process that installed a target while another was
// still running its command (for an earlier install) waits for that run
// to end, then claims its own install's command; one that finds its
// command run meanwhile has nothing to run.
func TestAwaitHook(t *testing.T) {
	dir := t.TempDir()
	h, err := LocalHost(dir, "h")
	if err != nil {
		t.Fatal(err)
	}
	m := testMaterial(t, 2, time.Now().Add(-time.Hour))
	in, err := m.Identify()
	if err != nil {
		t.Fatal(err)
	}
	tg := h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem", Exec: "true"})
	if err := h.Remember("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	unlock, err := fsutil.Lock(context.Background(), h.hookLockPath("c1", tg), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, _ := h.ClaimHook("c1", tg, in); st != HookRunning {
		t.Fatalf("ClaimHook while held: %v, want HookRunning", st)
	}
	type claimed struct {
		release func()
		st      HookState
		err     error
	}
	got := make(chan claimed, 1)
	go func() {
		r, st, err := h.AwaitHook(context.Background(), "c1", tg, in)
		got <- claimed{r, st, err}
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case c := <-got:
		t.Fatalf("AwaitHook did not wait for the run under way: %v %v", c.st, c.err)
	default:
	}
	unlock()
	c := <-got
	if c.err != nil || c.st != HookClaimed {
		t.Fatalf("AwaitHook once the run ended: %v %v, want HookClaimed", c.st, c.err)
	}
	if err := h.HookDone("c1", tg, in); err != nil {
		t.Fatal(err)
	}
	c.release()
	if _, st, err := h.AwaitHook(context.Background(), "c1", tg, in); err != nil || st != HookNone {
		t.Fatalf("AwaitHook of a command that ran: %v %v, want HookNone", st, err)
	}
}

// TestForgetRemovesHookLock: removing a target (Forget) removes its
// command's lock file, unless a run of the command holds it.
func TestForgetRemovesHookLock(t *testing.T) {
	dir := t.TempDir()
	h, err := LocalHost(dir, "h")
	if err != nil {
		t.Fatal(err)
	}
	for _, held := range []bool{false, true} {
		tg := h.Bind("c1", Target{CertFile: fmt.Sprintf("/x/c-%v.pem", held), KeyFile: "/x/k.pem", Exec: "true"})
		path := h.hookLockPath("c1", tg)
		unlock, err := fsutil.TryLock(path)
		if err != nil {
			t.Fatal(err)
		}
		if !held {
			unlock()
		}
		if err := h.Forget("c1", tg); err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(path)
		if gone := errors.Is(statErr, os.ErrNotExist); gone == held {
			t.Errorf("lock held by a run %v: removed %v", held, gone)
		}
		if held {
			unlock()
		}
	}
}
