package revoke

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestRevokeSelectionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRevoke, "--query-terse", "tag:host=web1", "--revocation-reason", "SUPERSEDED", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "" || o.Select.QueryTerse != "tag:host=web1" || !o.Select.DryRun || o.Select.Yes || o.Reason != "SUPERSEDED" {
		t.Errorf("options %+v", o)
	}
	if o.IO == nil || o.Quiet == nil || o.Certificates == nil {
		t.Errorf("dependencies not set: %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdRevoke, "--filter-statement", "file://f.json", "--revocation-reason", "KEY_COMPROMISE", "-y")
	if err != nil || o.Select.FilterStatement != "file://f.json" || !o.Select.Yes {
		t.Errorf("--filter-statement -y: %+v, %v", o, err)
	}
	for _, c := range []struct {
		args []string
		want string // in the message: both flags named
	}{
		{[]string{"3f2a1b9c", "--query-terse", "tag:a=b", "--revocation-reason", "SUPERSEDED"}, "--query-terse and the ARN argument"},
		{[]string{"--certificate-arn", "3f2a1b9c", "--filter-statement", "{}", "--revocation-reason", "SUPERSEDED"}, "--filter-statement and --certificate-arn"},
		{[]string{"--filter-statement", "{}", "--query-terse", "x:y", "--revocation-reason", "SUPERSEDED"}, "--filter-statement and --query-terse"},
		{[]string{"3f2a1b9c", "--dry-run", "--revocation-reason", "SUPERSEDED"}, "--dry-run"},
		{[]string{"--revocation-reason", "SUPERSEDED"}, "--filter-statement or --query-terse"},
		{[]string{"--query-terse", "tag:a=b"}, "revocation-reason"},
	} {
		_, err := flagtest.Parse(t, NewCmdRevoke, c.args...)
		if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: exit %d (%v), want 2 naming %q", c.args, errs.ExitCodeOf(err), err, c.want)
		}
	}
}
