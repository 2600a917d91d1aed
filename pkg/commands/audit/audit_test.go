package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	auditrec "github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
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
		{"--until", "last week"},
		{"--since", "1d", "--until", "7d"}, // ends before it starts
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

// TestListTableAt80Columns: at 80 columns the table keeps each record's
// event name whole and its time to the minute, and cuts the others
// first (newcomer tester:
// "CreateCertificateAuthorit…" read as a CA's creation, the actor "USER
// ro…").
func TestListTableAt80Columns(t *testing.T) {
	rec := func(name, outcome, code string) *auditrec.Record {
		return &auditrec.Record{EventTime: "2026-12-07T21:47:22Z", EventName: name, Outcome: outcome, ErrorCode: code,
			Actor:     auditrec.Actor{Type: "USER", ID: "root", Host: "vm"},
			Resources: []string{"arn:certctl:acm-pca:local:000000000000:certificate-authority/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}
	}
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(80)
	p, err := output.New(ios, "table", "")
	if err != nil {
		t.Fatal(err)
	}
	page := ListOutput{AuditEvents: []*auditrec.Record{
		rec("CreateCertificateAuthorityCrl", auditrec.OutcomeSuccess, ""),
		rec("CreateExternalAccountBinding", auditrec.OutcomeFailure, "ValidationException"),
	}}
	if err := p.Print(page, listView(page)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-12-07T21:47", "CreateCertificateAuthorityCrl", "CreateExternalAccountBinding", "FAILURE", "0f1e2d3c"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line wider than 80 columns: %q", l)
		}
	}
}
