package cmdutil

import (
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
)

// TestPositiveDuration: a positive duration parses; 0 and a negative one
// are usage errors saying the duration must be positive (not "invalid
// duration"); garbage keeps the parser's reason.
func TestPositiveDuration(t *testing.T) {
	if d, err := PositiveDuration("expires-in", "30d"); err != nil || d != 30*24*time.Hour {
		t.Errorf("30d: %v, %v", d, err)
	}
	for in, want := range map[string]string{
		"0s":  `--expires-in: the duration must be positive, not "0s" (e.g. 30d, 12h)`,
		"0":   `--expires-in: the duration must be positive, not "0" (e.g. 30d, 12h)`,
		"-1h": `--expires-in: the duration must be positive, not "-1h" (e.g. 30d, 12h)`,
		"3x":  `--expires-in: invalid duration "3x": unknown unit 'x' (use s, m, h, d or y)`,
		"":    `--expires-in: empty duration`,
	} {
		_, err := PositiveDuration("expires-in", in)
		if err == nil || err.Error() != want || errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: %v (exit %d), want %q (exit 2)", in, err, errs.ExitCodeOf(err), want)
		}
	}
}
