package validate

import (
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
)

// ParseTimeout parses a --timeout value.
func ParseTimeout(s string) (time.Duration, error) {
	return cmdutil.PositiveDuration("timeout", s)
}
