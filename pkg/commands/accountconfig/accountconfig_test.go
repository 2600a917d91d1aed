package accountconfig

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestGetFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdGet)
	if err != nil || o == nil || o.Reports == nil {
		t.Fatalf("get: %+v, %v", o, err)
	}
	if _, err := flagtest.Parse(t, NewCmdGet, "extra"); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("get with an argument: exit %d (%v), want 2", errs.ExitCodeOf(err), err)
	}
	// get takes no flag of put's (pflag refuses it; the root maps that to exit 2).
	if o, err := flagtest.Parse(t, NewCmdGet, "--days-before-expiry", "3"); err == nil || o != nil {
		t.Errorf("get --days-before-expiry accepted: %+v", o)
	}
}

func TestPutFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdPut, "--days-before-expiry", "30")
	if err != nil || o.DaysBeforeExpiry != 30 {
		t.Fatalf("put: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{}, // required
		{"--days-before-expiry", "3", "extra"},
	} {
		if _, err := flagtest.Parse(t, NewCmdPut, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("put %q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	if o, err := flagtest.Parse(t, NewCmdPut, "--days-before-expiry", "soon"); err == nil || o != nil {
		t.Errorf("a number that is not one accepted: %+v", o)
	}
}
