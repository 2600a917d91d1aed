package cmdutil

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: TuneGC sets GOGC and the soft limit and undoes both; a GOGC
// or GOMEMLIMIT the user set stands.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	limitBefore := debug.SetMemoryLimit(-1)
	f := &Factory{Getenv: func(string) string { return "" }}
	undo := f.TuneGC(1000, 2<<30)
	if got := debug.SetGCPercent(1000); got != 1000 {
		t.Errorf("GOGC %d after TuneGC(1000), want 1000", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 2<<30 {
		t.Errorf("memory limit %d after TuneGC, want %d", got, 2<<30)
	}
	undo()
	if got := debug.SetGCPercent(before); got != before {
		t.Errorf("GOGC %d after undo, want %d", got, before)
	}
	if got := debug.SetMemoryLimit(-1); got != limitBefore {
		t.Errorf("memory limit %d after undo, want %d", got, limitBefore)
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		f := &Factory{Getenv: func(k string) string {
			if k == env {
				return "50"
			}
			return ""
		}}
		f.TuneGC(1000, 2<<30)()
		if got := debug.SetGCPercent(before); got != before {
			t.Errorf("%s set: GOGC changed to %d", env, got)
		}
	}
}
