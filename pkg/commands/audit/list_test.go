package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/commands/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
)

type listOut struct {
	AuditEvents []struct {
		EventId, EventTime, EventName, Outcome string
		Actor                                  struct{ Type, Id, Host string }
		Resources                              []string
		RequestParameters                      map[string]any
	}
	NextToken *string
}

// TestAuditListFilters: the filters select by API name, resource (ARN or
// UUID), actor and time; --max-items pages the log with NextToken until
// every record was seen once; a bad token is invalid input.
func TestAuditListFilters(t *testing.T) {
	e := clitest.New(t)
	start := e.Now()
	a := e.RequestPrivate("a.internal")
	b := e.RequestPrivate("b.internal")
	e.Advance(time.Hour)
	e.MustRun("revoke", a, "--revocation-reason", "KEY_COMPROMISE")
	e.MustRun("account-config", "put", "--days-before-expiry", "30")
	e.Advance(24 * time.Hour)
	e.MustRun("revoke", b, "--revocation-reason", "SUPERSEDED")
	e.Run("revoke", b, "--revocation-reason", "SUPERSEDED") // refused, recorded

	var all listOut
	e.JSON(&all, "audit", "list")
	n := len(all.AuditEvents)
	if n < 4 || all.NextToken != nil {
		t.Fatalf("audit list: %d records, NextToken %v", n, all.NextToken)
	}
	count := func(args ...string) int {
		t.Helper()
		var out listOut
		e.JSON(&out, append([]string{"audit", "list"}, args...)...)
		return len(out.AuditEvents)
	}
	if got := count("--event-name", "RevokeCertificate"); got != 3 {
		t.Errorf("--event-name: %d records, want 3", got)
	}
	// The API name is exact, as AWS spells it: another case is a usage
	// error naming the one meant.
	if r := e.Run("audit", "list", "--event-name", "revokecertificate"); r.Code != errs.ExitUsage || !strings.Contains(r.Stderr, "did you mean RevokeCertificate?") {
		t.Errorf("--event-name revokecertificate: %v", r)
	}
	if got := count("--actor", "user"); got != 0 {
		t.Errorf("--actor user: %d records, want none (actor types are exact)", got)
	}
	if got := count("--resource", a, "--event-name", "RevokeCertificate"); got != 1 {
		t.Errorf("--resource ARN: %d records, want 1", got)
	}
	if got := count("--resource", b[strings.LastIndexByte(b, '/')+1:], "--event-name", "RevokeCertificate"); got != 2 {
		t.Errorf("--resource UUID: %d records, want 2", got)
	}
	if got := count("--actor", "USER"); got != n {
		t.Errorf("--actor USER: %d records, want %d", got, n)
	}
	if got := count("--actor", "nobody"); got != 0 {
		t.Errorf("--actor nobody: %d records", got)
	}
	if got := count("--since", "12h"); got != 2 {
		// (everything else happened more than a day ago)
		t.Errorf("--since 12h: %d records, want the last revocation and its refusal", got)
	}
	// --until takes a duration as --since does (on-call tester: refused).
	if got := count("--until", "12h"); got != n-2 {
		t.Errorf("--until 12h: %d records, want all but the last two of %d", got, n)
	}
	until := start.Add(2 * time.Hour).Format(time.RFC3339)
	if got := count("--event-name", "RevokeCertificate", "--until", until); got != 1 {
		t.Errorf("--until %s: %d revocations, want 1", until, got)
	}

	seen := map[string]bool{}
	tok := ""
	for pages := 1; ; pages++ {
		args := []string{"audit", "list", "--max-items", "2"}
		if tok != "" {
			args = append(args, "--starting-token", tok)
		}
		var page listOut
		e.JSON(&page, args...)
		if len(page.AuditEvents) > 2 || len(page.AuditEvents) == 0 {
			t.Fatalf("page %d has %d records", pages, len(page.AuditEvents))
		}
		for _, r := range page.AuditEvents {
			if seen[r.EventId] {
				t.Fatalf("record %s on two pages", r.EventId)
			}
			seen[r.EventId] = true
		}
		if page.NextToken == nil {
			break
		}
		tok = *page.NextToken
	}
	if len(seen) != n {
		t.Errorf("paging saw %d records, want %d", len(seen), n)
	}
	if r := e.Run("audit", "list", "--starting-token", "bogus"); r.Code != errs.ExitInvalid {
		t.Errorf("bad token: %v", r)
	}
	// A --since given as a duration is the window of the first page: the
	// pages after it keep it, though time passes (tester: records that
	// left the sliding window between two pages were never listed).
	var first listOut
	e.JSON(&first, "audit", "list", "--since", "26h", "--max-items", "1")
	if first.NextToken == nil {
		t.Fatalf("--since 26h --max-items 1: %+v", first)
	}
	e.Advance(2 * time.Hour) // the first records leave a 26h window now
	var rest listOut
	e.JSON(&rest, "audit", "list", "--since", "26h", "--starting-token", *first.NextToken)
	if got := 1 + len(rest.AuditEvents); got != count("--since", "28h") {
		t.Errorf("paged with a sliding --since: %d records, want the %d of the first page's window", got, count("--since", "28h"))
	}
	// A window in any year goes into a token and comes back (review:
	// 1960 and 2300 were refused as tokens certctl had made).
	for _, args := range [][]string{{"--since", "1960-01-01"}, {"--until", "2300-01-01"}} {
		var p1 listOut
		e.JSON(&p1, append([]string{"audit", "list", "--max-items", "1"}, args...)...)
		if p1.NextToken == nil {
			t.Fatalf("%v: no NextToken", args)
		}
		if r := e.Run(append([]string{"audit", "list", "--starting-token", *p1.NextToken}, args...)...); r.Code != 0 {
			t.Errorf("%v: its own token refused: %v", args, r)
		}
	}
	// A token of an earlier release (no window) still works.
	old := base64.RawURLEncoding.EncodeToString([]byte("a:1"))
	if r := e.Run("audit", "list", "--starting-token", old); r.Code != 0 {
		t.Errorf("a token without a window: %v", r)
	}
	r := e.MustRun("audit", "list", "--max-items", "1", "-o", "json", "--query", "NextToken")
	if strings.TrimSpace(r.Stdout) == "null" {
		t.Errorf("--max-items 1 of %d records gave no NextToken", n)
	}
}

// TestAuditListTextTimes: -o text shows a record's time to the second, in
// the fixed width of every other time certctl prints, although the log
// keeps nanoseconds.
func TestAuditListTextTimes(t *testing.T) {
	e := clitest.New(t)
	e.SetNow(time.Date(2026, 3, 4, 5, 6, 7, 618606730, time.UTC))
	e.RequestPrivate("a.internal")
	r := e.MustRun("audit", "list", "-o", "text")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) == 0 {
		t.Fatalf("no records: %v", r)
	}
	for _, l := range lines {
		if when := strings.SplitN(l, "\t", 2)[0]; when != "2026-03-04T05:06:07Z" {
			t.Errorf("record time %q, want 2026-03-04T05:06:07Z (line %q)", when, l)
		}
	}
}

// TestAuditListStreamed: audit list -o json and -o yaml, written a record
// at a time as they are read (scale tester: 646 MB for 70,000 records),
// are the bytes Print writes for the whole page — every record, a page
// with its NextToken, none — and the pages of --max-items walk the log.
func TestAuditListStreamed(t *testing.T) {
	e := clitest.New(t)
	a := e.RequestPrivate("a.internal")
	e.MustRun("revoke", a, "--revocation-reason", "SUPERSEDED")
	e.Run("revoke", a, "--revocation-reason", "SUPERSEDED") // refused, recorded
	e.MustRun("tags", "add", a, "--tags", "env=prod@eu:1")
	for _, args := range [][]string{{}, {"--max-items", "2"}, {"--event-name", "DeleteCertificate"}} {
		js := e.MustRun(append([]string{"audit", "list", "-o", "json"}, args...)...).Stdout
		var page audit.ListOutput
		if err := json.Unmarshal([]byte(js), &page); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, js)
		}
		for _, format := range []string{"json", "yaml"} {
			ios, _, want, _ := iostreams.Test()
			p, err := output.New(ios, format, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Print(page, output.View{}); err != nil {
				t.Fatal(err)
			}
			if got := e.MustRun(append([]string{"audit", "list", "-o", format}, args...)...).Stdout; got != want.String() {
				t.Errorf("audit list %v -o %s:\n%s\nPrint:\n%s", args, format, got, want.String())
			}
		}
		if len(args) == 2 && args[0] == "--max-items" && (len(page.AuditEvents) != 2 || page.NextToken == nil) {
			t.Errorf("--max-items 2: %d records, NextToken %v", len(page.AuditEvents), page.NextToken)
		}
	}
	// Walked page by page, every record once.
	var all listOut
	e.JSON(&all, "audit", "list")
	seen, token := 0, ""
	for {
		args := []string{"audit", "list", "--max-items", "2"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		var pg listOut
		e.JSON(&pg, args...)
		for _, r := range pg.AuditEvents {
			if r.EventId != all.AuditEvents[seen].EventId {
				t.Fatalf("record %d: %s, want %s", seen, r.EventId, all.AuditEvents[seen].EventId)
			}
			seen++
		}
		if pg.NextToken == nil {
			break
		}
		token = *pg.NextToken
	}
	if seen != len(all.AuditEvents) {
		t.Errorf("%d records walked, %d in the log", seen, len(all.AuditEvents))
	}
}

// writeCounter counts the writes made to it.
type writeCounter struct{ writes, bytes int }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	w.bytes += len(p)
	return len(p), nil
}

// TestAuditListWritesAsItReads: the records go out as they are read — a
// write each — not in one write once the whole log is held.
func TestAuditListWritesAsItReads(t *testing.T) {
	e := clitest.New(t)
	for i := range 5 {
		e.RequestPrivate(fmt.Sprintf("h%d.internal", i))
	}
	var all listOut
	e.JSON(&all, "audit", "list")
	for _, format := range []string{"json", "yaml"} {
		f, _, errOut := e.Factory()
		var w writeCounter
		f.IO.Out = &w
		if code := app.Run(context.Background(), f, []string{"audit", "list", "-o", format}); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if w.writes < len(all.AuditEvents) {
			t.Errorf("-o %s: %d writes for %d records", format, w.writes, len(all.AuditEvents))
		}
	}
}

// TestUntilTakesTheWholeSecond: a record made within a second is listed
// by --until that second, as the list prints it (whole seconds), and not
// by --until the second before (tester: copying a record's EventTime into
// --until left the record out).
func TestUntilTakesTheWholeSecond(t *testing.T) {
	e := clitest.New(t)
	sec := e.Now().Add(time.Hour)
	e.SetNow(sec.Add(600 * time.Millisecond))
	arn := e.RequestPrivate("until.internal")
	var all struct{ AuditEvents []struct{ EventTime string } }
	e.JSON(&all, "audit", "list", "--resource", arn)
	if len(all.AuditEvents) != 1 || all.AuditEvents[0].EventTime != sec.Format(time.RFC3339) {
		t.Fatalf("the request's record: %+v, want one at %s", all.AuditEvents, sec.Format(time.RFC3339))
	}
	// On a terminal too, the time itself, not how long ago (tester).
	e.TTY = true
	if r := e.Run("audit", "list", "--resource", arn); !strings.Contains(r.Stdout, sec.Format(time.RFC3339)) || strings.Contains(r.Stdout, " ago") {
		t.Fatalf("audit list on a terminal:\n%v", r)
	}
	e.TTY = false
	for until, want := range map[string]int{
		all.AuditEvents[0].EventTime:                             1,
		sec.Add(-time.Second).Format(time.RFC3339):               0,
		sec.Add(500 * time.Millisecond).Format(time.RFC3339Nano): 0, // a fraction is taken as given
		sec.Format("2006-01-02T15:04:05.000Z07:00"):              0, // .000 too (review)
	} {
		var got struct{ AuditEvents []any }
		e.JSON(&got, "audit", "list", "--resource", arn, "--until", until)
		if len(got.AuditEvents) != want {
			t.Errorf("--until %s: %d records, want %d", until, len(got.AuditEvents), want)
		}
	}
}
