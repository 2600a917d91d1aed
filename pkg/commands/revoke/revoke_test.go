package revoke

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestRevokeFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRevoke, "3f2a1b9c", "--revocation-reason", "KEY_COMPROMISE")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || o.Reason != "KEY_COMPROMISE" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdRevoke, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x", "--revocation-reason", "SUPERSEDED")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" {
		t.Errorf("--certificate-arn alias: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"3f2a1b9c"}, // no reason
		{"3f2a1b9c", "--revocation-reason", "NOPE"}, // unknown reason
		{"--revocation-reason", "SUPERSEDED"},       // no certificate
	} {
		if _, err := flagtest.Parse(t, NewCmdRevoke, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}
