package cmdutil

import (
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/timeutil"
)

// PositiveDuration parses the value s of the duration flag --name, which
// must be positive (--validity, --timeout, --within, --expires-in): a value
// that does not parse is a usage error (exit 2) with the parser's reason;
// zero or a negative value one that says the duration must be positive,
// rather than that a well-formed "0s" is invalid.
func PositiveDuration(name, s string) (time.Duration, error) {
	d, err := timeutil.ParseDuration(s)
	if err == nil && d > 0 {
		return d, nil
	}
	if err == nil || strings.HasPrefix(strings.TrimSpace(s), "-") {
		return 0, errs.UsageErrorf("--%s: the duration must be positive, not %q (e.g. 30d, 12h)", name, s)
	}
	return 0, errs.UsageErrorf("--%s: %v", name, err)
}
