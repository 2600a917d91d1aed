package events_test

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestFollowRefusesQueryAndFormat: --follow prints one JSON object a
// line; a --query or another -o, which it would ignore without a word, is
// a usage error (tester).
func TestFollowRefusesQueryAndFormat(t *testing.T) {
	e := clitest.New(t)
	for _, args := range [][]string{
		{"events", "--follow", "--query", "Events[0]"},
		{"events", "--follow", "-o", "yaml"},
	} {
		r := e.Run(args...)
		if r.Code != errs.ExitUsage || !strings.Contains(r.Stderr, "--follow prints each event as one JSON object a line") {
			t.Errorf("%q: %s", args, r)
		}
	}
}
