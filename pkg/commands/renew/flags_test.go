package renew

import (
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestRenewFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRenew, "3f2a1b9c")
	if err != nil || o.ID != "3f2a1b9c" || o.Due || o.DryRun || o.Within != 0 {
		t.Fatalf("renew ARN: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdRenew, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" {
		t.Fatalf("--certificate-arn alias: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdRenew, "--due", "--dry-run", "--within", "40d")
	if err != nil || !o.Due || !o.DryRun || o.Within != 40*24*time.Hour || o.ID != "" {
		t.Fatalf("renew --due --dry-run --within 40d: %+v, %v", o, err)
	}
	if o.Printer == nil || o.Renewals == nil || o.IO == nil {
		t.Fatalf("dependencies not set: %+v", o)
	}
	for _, args := range [][]string{
		{},                        // neither ARN nor --due
		{"--due", "3f2a1b9c"},     // both
		{"a", "b"},                // two ARNs
		{"3f2a1b9c", "--dry-run"}, // --dry-run without --due
		{"3f2a1b9c", "--within", "40d"},
		{"--due", "--within", "soon"},
		{"--due", "--within", "0d"},
		{"3f2a1b9c", "--certificate-arn", "3f2a1b9c"},
	} {
		if _, err := flagtest.Parse(t, NewCmdRenew, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}
