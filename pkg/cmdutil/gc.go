package cmdutil

import "runtime/debug"

// TuneGC sets the collector's target (GOGC) to percent and, when limit > 0,
// its soft memory limit (GOMEMLIMIT) to limit bytes — unless the user set
// GOGC or GOMEMLIMIT, which then stand. It returns what undoes it. A CLI
// process is short-lived and holds what it prints until it prints it, so
// collecting as often as a long-running process would (GOGC=100) spends
// CPU freeing little it could reuse; the whole process collects less
// often (app.Main), a list much less (list).
func (f *Factory) TuneGC(percent int, limit int64) (undo func()) {
	if f.Getenv("GOGC") != "" || f.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	oldPercent := debug.SetGCPercent(percent)
	oldLimit := int64(-1)
	if limit > 0 {
		oldLimit = debug.SetMemoryLimit(limit)
	}
	return func() {
		debug.SetGCPercent(oldPercent)
		if oldLimit >= 0 {
			debug.SetMemoryLimit(oldLimit)
		}
	}
}
