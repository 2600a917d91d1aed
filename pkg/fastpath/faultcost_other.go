//go:build !linux

package fastpath

import "time"

// faultCost measures first touches on Linux only (faultcost_linux.go),
// where the advice it decides on is given.
func faultCost() time.Duration { return 0 }
