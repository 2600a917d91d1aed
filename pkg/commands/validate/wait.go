package validate

import (
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/timeutil"
)

// ParseTimeout parses a --timeout value.
func ParseTimeout(s string) (time.Duration, error) {
	d, err := timeutil.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errs.UsageErrorf("--timeout: invalid duration %q", s)
	}
	return d, nil
}
