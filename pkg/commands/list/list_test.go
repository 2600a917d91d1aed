package list

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// parse runs `list ARGS` through the flag layer and returns the options.
func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	f := cmdutil.New(io, "test")
	var got *Options
	cmd := NewCmdList(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestListFlags(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	o, err := parse(t, "--certificate-statuses", "ISSUED,EXPIRED", "--certificate-statuses", "REVOKED",
		"--key-types", "RSA_2048", "--tag", "env=prod", "--tag", "Key=team", "--tag", "Key=a,Value=b,c",
		"--expiring-within", "30d", "--in-use=false", "--sort-by", "NOT_AFTER")
	if err != nil {
		t.Fatal(err)
	}
	q, err := o.Query(now)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(q.Filter.Statuses, ","); got != "ISSUED,EXPIRED,REVOKED" {
		t.Errorf("statuses %q", got)
	}
	if !q.Filter.NotAfterBefore.Equal(now.Add(30*24*time.Hour)) || q.Filter.InUse == nil || *q.Filter.InUse {
		t.Errorf("expiring %v in use %v", q.Filter.NotAfterBefore, q.Filter.InUse)
	}
	if q.Filter.Descending || q.Now != now {
		t.Errorf("NOT_AFTER defaults to ascending: %v; now %v", q.Filter.Descending, q.Now)
	}
	want := []struct {
		k, v  string
		given bool
	}{{"env", "prod", true}, {"team", "", false}, {"a", "b,c", true}}
	for i, w := range want {
		if q.Tags[i].Key != w.k || q.Tags[i].Value != w.v || q.TagValueGiven[i] != w.given {
			t.Errorf("tag %d: %+v %v, want %+v", i, q.Tags[i], q.TagValueGiven[i], w)
		}
	}
	o, _ = parse(t)
	if q, _ := o.Query(now); !q.Filter.Descending || q.Filter.SortBy != "CREATED_AT" {
		t.Errorf("default sort: %+v", q.Filter)
	}
}

func TestListFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--certificate-statuses", "ISSUED,BOGUS"},
		{"--key-types", "RSA_9999"},
		{"--type", "AMAZON_ISSUED"},
		{"--sort-by", "NAME"},
		{"--sort-order", "UP"},
		{"--max-items", "-1"},
		{"extra"},
	} {
		if _, err := parse(t, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	for _, args := range [][]string{
		{"--expiring-within", "soon"},
		{"--exportable", "maybe"},
		{"--tag", "=v"},
		{"--tag", "Key=a,Val=b"},
	} {
		o, err := parse(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if _, err := o.Query(time.Now()); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
