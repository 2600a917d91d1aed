//go:build unix

package app_test

import (
	"os"
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
