package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestListFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdList, "--since", "7d", "--until", "2031-01-09T00:00:00Z", "--event-name", "ExportCertificate",
		"--resource", "arn:certctl:acm:local:000000000000:certificate/x", "--actor", "alice", "--max-items", "5", "--starting-token", "YTox")
	if err != nil {
		t.Fatal(err)
	}
	if o.Since != "7d" || o.Until != "2031-01-09T00:00:00Z" || o.EventName != "ExportCertificate" ||
		o.Resource != "arn:certctl:acm:local:000000000000:certificate/x" || o.Actor != "alice" || o.MaxItems != 5 || o.StartingToken != "YTox" {
		t.Errorf("options %+v", o)
	}
	now := time.Date(2031, 1, 10, 0, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	q, err := o.query()
	if err != nil {
		t.Fatal(err)
	}
	if !q.Filter.Since.Equal(now.Add(-7*24*time.Hour)) || !q.Filter.Until.Equal(time.Date(2031, 1, 9, 0, 0, 0, 999999999, time.UTC)) ||
		q.Filter.EventName != "ExportCertificate" || q.Filter.Actor != "alice" || q.Filter.Resource != o.Resource ||
		q.MaxItems != 5 || q.StartingToken != "YTox" {
		t.Errorf("query %+v", q)
	}
	if o, err := flagtest.Parse(t, NewCmdList, "--since", "2031-01-01T00:00:00Z"); err != nil || o.Since != "2031-01-01T00:00:00Z" {
		t.Errorf("RFC 3339 --since: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"--since", "last week"},
		{"--until", "7d"}, // --until takes a time only
		// A range that ends before it starts (tester: an empty list, exit 0).
		{"--since", "2026-12-07T00:00:00Z", "--until", "2026-12-01T00:00:00Z"},
		{"extra"},
		// An empty filter selects nothing less: refused.
		{"--resource", ""},
		{"--actor", " "},
		{"--event-name", ""},
		{"--since", ""},
		{"--until", ""},
	} {
		if _, err := flagtest.Parse(t, NewCmdList, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	for _, n := range []string{"many", "0", "-1"} {
		if o, err := flagtest.Parse(t, NewCmdList, "--max-items", n); err == nil || o != nil || !strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("--max-items %s accepted: %+v, %v", n, o, err)
		}
	}
}

func TestVerifyFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdVerify)
	if err != nil || o == nil || o.AuditLog == nil || o.Printer == nil {
		t.Fatalf("verify: %+v, %v", o, err)
	}
	if _, err := flagtest.Parse(t, NewCmdVerify, "extra"); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("verify with an argument: exit %d (%v), want 2", errs.ExitCodeOf(err), err)
	}
	if o, err := flagtest.Parse(t, NewCmdVerify, "--since", "1d"); err == nil || o != nil {
		t.Errorf("verify --since accepted: %+v", o)
	}
}
