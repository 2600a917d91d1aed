package deletecmd

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestDeleteSelectionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDelete, "--query-terse", "status:EXPIRED", "--dry-run", "--force")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "" || o.Select.QueryTerse != "status:EXPIRED" || !o.Select.DryRun || !o.Force || o.Yes {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdDelete, "--filter-statement", "file://f.json", "--yes")
	if err != nil || o.Select.FilterStatement != "file://f.json" || !o.Yes {
		t.Errorf("--filter-statement --yes: %+v, %v", o, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"3f2a1b9c", "--filter-statement", "{}"}, "--filter-statement and the ARN argument"},
		{[]string{"--certificate-arn", "x", "--query-terse", "tag:a"}, "--query-terse and --certificate-arn"},
		{[]string{"--filter-statement", "{}", "--query-terse", "tag:a"}, "--filter-statement and --query-terse"},
		{[]string{"3f2a1b9c", "--dry-run"}, "--dry-run"},
	} {
		_, err := flagtest.Parse(t, NewCmdDelete, c.args...)
		if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: exit %d (%v), want 2 naming %q", c.args, errs.ExitCodeOf(err), err, c.want)
		}
	}
}
