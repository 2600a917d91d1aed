package fsutil

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLock: a second Lock of the same file waits for the first to be
// released, gives up after its wait (naming the file) or when its
// context ends, and gets the lock once the holder unlocks.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	ctx := context.Background()
	unlock, err := Lock(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(ctx, path, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("a second lock while held: %v, want a refusal naming the file", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Lock(cctx, path, time.Minute); err != context.Canceled {
		t.Fatalf("a lock with its context done: %v", err)
	}
	waitsForRelease(t, "a second Lock", func() (func(), error) { return Lock(ctx, path, 10*time.Second) }, unlock)
}

// waitsForRelease checks that take, started while a lock is held, waits
// for release, and then takes the lock (and releases it).
func waitsForRelease(t *testing.T, what string, take func() (func(), error), release func()) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		u, err := take()
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("%s did not wait for the holder: %v", what, err)
	default:
	}
	release()
	if err := <-got; err != nil {
		t.Fatalf("%s once the lock was released: %v", what, err)
	}
}

// TestTryLock: TryLock takes a free lock at once, answers ErrLocked
// (naming the file) while another holder has it, without waiting, and
// takes it again once it is released.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("TryLock while held: %v, want ErrLocked naming the file", err)
	}
	if took := time.Since(start); took > lockPoll {
		t.Fatalf("TryLock while held took %s: it must not wait", took)
	}
	unlock()
	u, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock once released: %v", err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second TryLock: %v, want ErrLocked", err)
	}
	u()
}

// TestLockOpen: LockOpen on an open file waits while another open of it
// holds the lock (Lock's, which it shares), and takes it once released.
func TestLockOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	unlock, err := Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	waitsForRelease(t, "LockOpen", func() (func(), error) { return LockOpen(f) }, unlock)
	if _, err := TryLock(path); err != nil {
		t.Fatalf("LockOpen's unlock left the file locked: %v", err)
	}
}
