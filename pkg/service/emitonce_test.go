package service

import (
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// A read run again before it handed anything out goes on; once it handed
// something out, running it again fails (exit 1) rather than hand it out
// twice.
func TestEmitOnce(t *testing.T) {
	var got []int
	restart, emit := EmitOnce(func(v int) error { got = append(got, v); return nil })
	if err := restart(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if err := restart(); err != nil {
		t.Fatalf("a run again before anything was handed out: %v", err)
	}
	if err := emit(7); err != nil || len(got) != 1 || got[0] != 7 {
		t.Fatalf("emit: %v, handed out %v", err, got)
	}
	if err := restart(); errs.ExitCodeOf(err) != errs.ExitFailure {
		t.Errorf("a run again after something was handed out: %v, want exit 1", err)
	}
}
