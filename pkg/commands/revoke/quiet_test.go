package revoke_test

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestQuietSelectionPrintsOnlyTrouble: a change of a selection (tags add,
// revoke, delete) with -q alone prints nothing when every certificate was
// changed, and only the certificates refused when some were (exit 7) — as
// README promises for cron's mail (tester: -q printed 3,000 TAGGED
// results), whatever -o, as renew --due -q (tester: -q -o text printed
// every TAGGED row); a --query's answer and a dry run are printed whole.
func TestQuietSelectionPrintsOnlyTrouble(t *testing.T) {
	e := clitest.New(t)
	var arns []string
	for _, n := range []string{"a.internal", "b.internal", "c.internal"} {
		arn := e.RequestPrivate(n, "--tags", "Key=team,Value=x")
		e.Export(arn)
		arns = append(arns, arn)
	}
	if r := e.Run("tags", "add", "--query-terse", "tag:team=x", "--tags", "Key=q,Value=1", "--yes", "-q"); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("tags add -q, every certificate tagged, printed:\n%v", r)
	}
	for _, o := range []string{"text", "json", "table"} {
		if r := e.Run("tags", "add", "--query-terse", "tag:team=x", "--tags", "Key=q,Value=2"+o, "--yes", "-q", "-o", o); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Fatalf("tags add -q -o %s, every certificate tagged, printed:\n%v", o, r)
		}
	}
	if r := e.Run("tags", "add", "--query-terse", "tag:team=x", "--tags", "Key=q,Value=3", "--yes", "-q", "--query", "Results[].Outcome", "-o", "text"); r.Code != 0 || r.Stdout != "TAGGED\tTAGGED\tTAGGED\n" {
		t.Fatalf("tags add -q --query: want its answer\n%v", r)
	}
	if r := e.Run("revoke", "--query-terse", "tag:team=x", "--revocation-reason", "SUPERSEDED", "--dry-run", "-q"); r.Code != 0 || strings.Count(r.Stdout, "REVOKED") != 3 {
		t.Fatalf("revoke --dry-run -q: want the whole plan\n%v", r)
	}
	e.MustRun("revoke", arns[0], "--revocation-reason", "SUPERSEDED")
	imported := e.ImportNamed("imported.example.test")
	e.MustRun("tags", "add", imported, "--tags", "Key=team,Value=x")
	r := e.Run("revoke", "--query-terse", "tag:team=x", "--revocation-reason", "SUPERSEDED", "--yes", "-q")
	if r.Code != errs.ExitPartial || !strings.Contains(r.Stdout, imported) || !strings.Contains(r.Stdout, "REFUSED") {
		t.Fatalf("revoke -q with a refusal: want exit 7 and the refused certificate\n%v", r)
	}
	for _, arn := range arns {
		if strings.Contains(r.Stdout, arn) {
			t.Fatalf("revoke -q printed %s, revoked (or already revoked) as asked:\n%v", arn, r)
		}
	}
	// On a terminal the refused row's reason does not name the
	// certificate again: the row does (tester: a narrow terminal kept
	// only "certificate ffe83f83-…").
	e.TTY = true
	r = e.Run("revoke", "--query-terse", "tag:team=x", "--revocation-reason", "SUPERSEDED", "--yes")
	id := imported[strings.LastIndexByte(imported, '/')+1:]
	if !strings.Contains(r.Stdout, "REFUSED") || !strings.Contains(r.Stdout, "IMPORTED") || strings.Contains(r.Stdout, "certificate "+id) {
		t.Fatalf("the table's refused row:\n%v", r)
	}
}
