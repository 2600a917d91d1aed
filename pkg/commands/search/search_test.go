package search

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestSearchFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdSearch, "san:*.example.com status:ISSUED", "--max-items", "5", "--starting-token", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if o.Query != "san:*.example.com status:ISSUED" || o.FilterStatement != "" || o.MaxItems != 5 || o.StartingToken != "tok" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdSearch, "--filter-statement", "file://f.json")
	if err != nil || o.FilterStatement != "file://f.json" || o.Query != "" {
		t.Errorf("--filter-statement: %+v, %v", o, err)
	}
	// Neither a query nor a statement: every certificate.
	o, err = flagtest.Parse(t, NewCmdSearch)
	if err != nil || o.Query != "" || o.FilterStatement != "" {
		t.Errorf("no statement: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdSearch, "--sort-by", "NOT_AFTER", "--sort-order", "DESCENDING")
	if err != nil || o.SortBy != "NOT_AFTER" || o.SortOrder != "DESCENDING" {
		t.Errorf("--sort-by --sort-order: %+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"--sort-by", "DOMAIN_NAME"}, // list's key, not ACM's search key
		{"--sort-by", "not_after"},
		{"--sort-order", "UP"},
		{"a", "b"}, // two queries
		{"type:PRIVATE", "--filter-statement", `{"Filter":{"CertificateArn":"x"}}`},
	} {
		if _, err := flagtest.Parse(t, NewCmdSearch, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	if o, err := flagtest.Parse(t, NewCmdSearch, "--max-items", "0"); o != nil || err == nil || !strings.Contains(err.Error(), "invalid argument") {
		t.Errorf("--max-items 0: %+v, %v; want a flag error", o, err)
	}
	for _, args := range [][]string{{"  "}, {"--filter-statement", ""}, {"--filter-statement", " "}} {
		if _, err := flagtest.Parse(t, NewCmdSearch, args...); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("%q (blank): exit %d (%v), want 4", args, errs.ExitCodeOf(err), err)
		}
	}
}
