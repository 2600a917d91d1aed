package bulk

import (
	"context"
	"encoding/json"
	"io/fs"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/errs"
)

// `list -o json`, which prints the list as it reads it (several blocks
// here), prints the document that the generic encoder prints from the
// whole page (`--query @`), with every certificate once and in order;
// a page of it ends with the token that continues it. `list -o text`,
// printed as it is read too, has a line per certificate in that order.
func TestListStreamed(t *testing.T) {
	const n = 600
	e := clitest.New(t)
	dir := t.TempDir()
	if err := testpki.WriteMany(dir, n, e.Now()); err != nil {
		t.Fatal(err)
	}
	e.MustRun("import", "--from-dir", dir, "-o", "json")
	type list struct {
		CertificateSummaryList []map[string]any
		NextToken              *string
	}
	for _, args := range [][]string{{"list"}, {"list", "--sort-by", "DOMAIN_NAME", "--max-items", "450"}} {
		var streamed, whole list
		e.JSON(&streamed, args...)
		e.JSON(&whole, append(args, "--query", "@")...)
		if !reflect.DeepEqual(streamed, whole) {
			t.Errorf("%v: the streamed list differs from the encoded page", args)
		}
		want := n
		if len(args) > 1 {
			want = 450
			if streamed.NextToken == nil {
				t.Errorf("%v: no NextToken", args)
			}
		} else if streamed.NextToken != nil {
			t.Errorf("%v: NextToken %q on a whole list", args, *streamed.NextToken)
		}
		seen := map[any]bool{}
		for _, c := range streamed.CertificateSummaryList {
			seen[c["CertificateArn"]] = true
		}
		if len(streamed.CertificateSummaryList) != want || len(seen) != want {
			t.Errorf("%v: %d certificates (%d distinct), want %d", args, len(streamed.CertificateSummaryList), len(seen), want)
		}
		text := e.MustRun(append(args, "-o", "text")...).Stdout
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if len(lines) != want {
			t.Fatalf("%v -o text: %d lines, want %d", args, len(lines), want)
		}
		for i, l := range lines {
			f := strings.Split(l, "\t")
			c := streamed.CertificateSummaryList[i]
			if len(f) != 8 || f[0] != c["CertificateArn"] || f[1] != c["DomainName"] || f[2] != c["Status"] || f[5] != c["NotAfter"] {
				t.Fatalf("%v -o text, line %d: %q, want the fields of %v", args, i, l, c)
			}
		}
	}
	var raw json.RawMessage
	e.JSON(&raw, "list", "--certificate-statuses", "REVOKED")
	if got := string(raw); got != "{\n    \"CertificateSummaryList\": [],\n    \"NextToken\": null\n}" {
		t.Errorf("an empty list: %s", got)
	}
	if r := e.MustRun("list", "--certificate-statuses", "REVOKED", "-o", "text"); r.Stdout != "" {
		t.Errorf("an empty list -o text: %q", r.Stdout)
	}
}

// failingWriter fails every write as stdout on a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}
}

// A list whose output cannot be written fails with exit 1 and says why:
// the write's error, never the vault's (exit 6, "vault unavailable").
func TestListWriteError(t *testing.T) {
	e := clitest.New(t)
	dir := t.TempDir()
	if err := testpki.WriteMany(dir, 300, e.Now()); err != nil {
		t.Fatal(err)
	}
	e.MustRun("import", "--from-dir", dir, "-o", "json")
	// Every format of list and search, including a table of the whole list
	// (no "More:" footer after it, whose write used to be the only one
	// checked: tablewriter drops its writer's errors).
	for _, cmd := range [][]string{{"list"}, {"search"}} {
		for _, format := range []string{"json", "text", "yaml", "table"} {
			f, _, errOut := e.Factory()
			f.IO.Out = failingWriter{}
			code := app.Run(context.Background(), f, append(cmd, "-o", format))
			if code != errs.ExitFailure || !strings.Contains(errOut.String(), "no space left on device") ||
				strings.Contains(errOut.String(), "vault") {
				t.Errorf("%s -o %s to a failing stdout: exit %d, %q; want exit 1 with the write's error", cmd[0], format, code, errOut.String())
			}
		}
	}
}
