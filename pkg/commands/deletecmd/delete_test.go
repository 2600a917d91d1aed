package deletecmd

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestDeleteFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDelete, "3f2a1b9c")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || o.Yes || o.Force {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdDelete, "3f2a1b9c", "-y", "--force")
	if err != nil || !o.Yes || !o.Force {
		t.Errorf("-y --force: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdDelete, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x", "--yes")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" || !o.Yes {
		t.Errorf("--certificate-arn alias: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{},                       // no certificate
		{"--yes"},                // no certificate
		{"3f2a1b9c", "4e5f6a7b"}, // two
	} {
		if _, err := flagtest.Parse(t, NewCmdDelete, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}
