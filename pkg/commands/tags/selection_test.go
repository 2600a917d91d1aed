package tags

import (
	"reflect"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestTagsSelectionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdTagsAdd, "--query-terse", "san:*.corp.test", "--tags", "zone=corp", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "" || o.Select.QueryTerse != "san:*.corp.test" || !o.Select.DryRun || !reflect.DeepEqual(o.Tags, []string{"zone=corp"}) {
		t.Errorf("add: %+v", o)
	}
	r, err := flagtest.Parse(t, NewCmdTagsRemove, "--filter-statement", "{}", "--tags", "zone", "--yes")
	if err != nil || r.Select.FilterStatement != "{}" || !r.Select.Yes || r.ID != "" {
		t.Errorf("remove: %+v, %v", r, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"3f2a1b9c", "--query-terse", "tag:a", "--tags", "a=b"}, "--query-terse and the ARN argument"},
		{[]string{"--query-terse", "tag:a"}, "--tags is required"},
		{[]string{"3f2a1b9c", "--tags", "a=b", "--dry-run"}, "--dry-run"},
	} {
		_, err := flagtest.Parse(t, NewCmdTagsAdd, c.args...)
		if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("add %q: exit %d (%v), want 2 naming %q", c.args, errs.ExitCodeOf(err), err, c.want)
		}
	}
	// tags list takes no selection (an unknown flag: the root makes it
	// exit 2).
	if _, err := flagtest.Parse(t, NewCmdTagsList, "--query-terse", "tag:a"); err == nil || !strings.Contains(err.Error(), "unknown flag: --query-terse") {
		t.Errorf("tags list --query-terse: %v, want an unknown flag", err)
	}
}
