//go:build unix

package app

import "testing"

// TestMayDieOf: PID 1 (a container's process without an init) does not
// die of its own signal — it keeps the 128+n exit code — any other does.
func TestMayDieOf(t *testing.T) {
	if mayDieOf(1) {
		t.Error("PID 1 would send itself the signal")
	}
	if !mayDieOf(4242) {
		t.Error("an ordinary process would not die of its signal")
	}
}
