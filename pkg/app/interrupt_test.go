package app

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// TestInterrupted: what an interruption makes of a command's outcome. A
// failure (exit 1) exits 128 + the signal; an outcome with a code of its
// own (a batch's 7, a not-found 3) keeps it, and nothing changes without
// an interruption or when a command succeeded.
func TestInterrupted(t *testing.T) {
	byINT, cancel := context.WithCancelCause(context.Background())
	cancel(Interruption{Signal: syscall.SIGINT})
	byTERM, cancel2 := context.WithCancelCause(context.Background())
	cancel2(Interruption{Signal: syscall.SIGTERM})
	plain, cancel3 := context.WithCancel(context.Background())
	cancel3()
	failed := &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted", Hint: "run it again", Silent: true}
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want errs.ExitCode
	}{
		{"SIGINT, a failure", byINT, failed, 130},
		{"SIGTERM, a failure", byTERM, failed, 143},
		{"SIGINT, a plain error", byINT, errors.New("read: interrupted"), 130},
		{"SIGINT, a batch's partial failure", byINT, &errs.Error{Exit: errs.ExitPartial, Msg: "2 of 5 not done"}, errs.ExitPartial},
		{"SIGINT, not found", byINT, &errs.Error{Exit: errs.ExitNotFound, Msg: "no such"}, errs.ExitNotFound},
		{"cancelled, no signal", plain, failed, errs.ExitFailure},
		{"no cancellation", context.Background(), failed, errs.ExitFailure},
	} {
		got := interrupted(c.ctx, c.err)
		if code := errs.ExitCodeOf(got); code != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.want)
		}
		if got.Error() != c.err.Error() {
			t.Errorf("%s: message %q, want %q", c.name, got.Error(), c.err.Error())
		}
	}
	got := interrupted(byINT, failed)
	var ce *errs.Error
	if !errors.As(got, &ce) || ce.CodeName() != "Interrupted" || ce.Hint != "run it again" || !ce.Silent {
		t.Errorf("interrupted(SIGINT, failure) = %#v: want code Interrupted, the hint and Silent kept", ce)
	}
	if !errors.Is(Interruption{Signal: syscall.SIGINT}, context.Canceled) {
		t.Error("an Interruption is not a context.Canceled")
	}
}
