package dashboard

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestDashboardFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDashboard)
	if err != nil || o == nil || o.Printer == nil || o.Reports == nil || o.Query() {
		t.Fatalf("no flags: %+v, %v", o, err)
	}
	if _, err := flagtest.Parse(t, NewCmdDashboard, "extra"); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("an argument: exit %d (%v), want 2", errs.ExitCodeOf(err), err)
	}
	if o, err := flagtest.Parse(t, NewCmdDashboard, "--since", "7d"); err == nil || o != nil {
		t.Errorf("an unknown flag accepted: %+v", o)
	}
}
