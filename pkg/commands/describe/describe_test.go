package describe

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestDescribeFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdDescribe, "3f2a1b9c", "--versions")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "3f2a1b9c" || !o.Versions || o.PEM || o.ValidationRecords != "" {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdDescribe, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x", "--pem")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" || !o.PEM {
		t.Errorf("--certificate-arn --pem: %+v, %v", o, err)
	}
	if o.Structured == nil || o.Structured() {
		t.Errorf("without -o json, --pem is not wrapped")
	}
	for _, f := range RecordFormats {
		o, err = flagtest.Parse(t, NewCmdDescribe, "3f2a1b9c", "--validation-records", f)
		if err != nil || o.ValidationRecords != f {
			t.Errorf("--validation-records %s: %+v, %v", f, o, err)
		}
	}
	for _, args := range [][]string{
		{},         // no certificate
		{"a", "b"}, // two certificates
		{"3f2a1b9c", "--validation-records", "zone"},          // unknown format
		{"3f2a1b9c", "--validation-records", "bind", "--pem"}, // exclusive
		{"3f2a1b9c", "--validation-records", "csv", "--versions"},
	} {
		if _, err := flagtest.Parse(t, NewCmdDescribe, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	// An identifier longer than any valid one is invalid input (exit 4),
	// refused while parsing, before the store is opened.
	long := strings.Repeat("a", 257)
	for _, args := range [][]string{{long}, {"--certificate-arn", long}} {
		if _, err := flagtest.Parse(t, NewCmdDescribe, args...); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("257-byte identifier %q: exit %d (%v), want 4", args[0], errs.ExitCodeOf(err), err)
		}
	}
	if _, err := flagtest.Parse(t, NewCmdDescribe, strings.Repeat("a", 256)); err != nil {
		t.Errorf("256-byte identifier: %v", err)
	}
}
