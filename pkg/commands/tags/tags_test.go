package tags

import (
	"reflect"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestTagsAddFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdTagsAdd, "3f2a1b9c", "--tags", "Key=note,Value=a=b,c", "--tags", "env=prod")
	if err != nil {
		t.Fatal(err)
	}
	// One tag per occurrence, never split on commas.
	if o.ID != "3f2a1b9c" || !reflect.DeepEqual(o.Tags, []string{"Key=note,Value=a=b,c", "env=prod"}) {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdTagsAdd, "--certificate-arn", "3f2a1b9c", "--tags", "a=b")
	if err != nil || o.ID != "3f2a1b9c" {
		t.Errorf("--certificate-arn alias: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"3f2a1b9c"},      // --tags is required
		{"--tags", "a=b"}, // no certificate
		{"3f2a1b9c", "x", "--tags", "a=b"},
	} {
		if _, err := flagtest.Parse(t, NewCmdTagsAdd, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestTagsRemoveFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdTagsRemove, "3f2a1b9c", "--tags", "env", "--tags", "Key=team,Value=web")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || !reflect.DeepEqual(o.Tags, []string{"env", "Key=team,Value=web"}) {
		t.Errorf("options %+v", o)
	}
	for _, args := range [][]string{
		{"3f2a1b9c"},      // --tags is required
		{"--tags", "env"}, // no certificate
	} {
		if _, err := flagtest.Parse(t, NewCmdTagsRemove, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestTagsListFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdTagsList, "3f2a1b9c")
	if err != nil || o.ID != "3f2a1b9c" {
		t.Fatalf("%+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdTagsList, "--certificate-arn", "3f2a1b9c")
	if err != nil || o.ID != "3f2a1b9c" {
		t.Errorf("--certificate-arn alias: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{}, // no certificate
	} {
		if _, err := flagtest.Parse(t, NewCmdTagsList, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}
