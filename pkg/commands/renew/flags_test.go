package renew

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/renewals"
)

func TestRenewFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRenew, "3f2a1b9c")
	if err != nil || o.ID != "3f2a1b9c" || o.Due || o.DryRun || o.Within != 0 {
		t.Fatalf("renew ARN: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdRenew, "--certificate-arn", "arn:certctl:acm:local:000000000000:certificate/x")
	if err != nil || o.ID != "arn:certctl:acm:local:000000000000:certificate/x" {
		t.Fatalf("--certificate-arn alias: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdRenew, "--due", "--dry-run", "--within", "40d")
	if err != nil || !o.Due || !o.DryRun || o.Within != 40*24*time.Hour || o.ID != "" {
		t.Fatalf("renew --due --dry-run --within 40d: %+v, %v", o, err)
	}
	if o.Printer == nil || o.Renewals == nil || o.IO == nil {
		t.Fatalf("dependencies not set: %+v", o)
	}
	for _, args := range [][]string{
		{},                        // neither ARN nor --due
		{"--due", "3f2a1b9c"},     // both
		{"a", "b"},                // two ARNs
		{"3f2a1b9c", "--dry-run"}, // --dry-run without --due
		{"3f2a1b9c", "--within", "40d"},
		{"--due", "--within", "soon"},
		{"--due", "--within", "0d"},
		{"3f2a1b9c", "--certificate-arn", "3f2a1b9c"},
		{"3f2a1b9c", "--query-terse", "tag:a"},        // ARN and a selection
		{"--due", "--filter-statement", "{}"},         // --due and a selection
		{"--query-terse", "tag:a", "--within", "40d"}, // --within goes with --due
		{"--query-terse", "tag:a", "--filter-statement", "{}"},
	} {
		if _, err := flagtest.Parse(t, NewCmdRenew, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
}

func TestRenewSelectionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRenew, "--query-terse", "tag:host=web1", "--dry-run", "--yes")
	if err != nil || o.ID != "" || o.Due || !o.DryRun || !o.Select.DryRun || !o.Select.Yes || o.Select.QueryTerse != "tag:host=web1" {
		t.Fatalf("renew --query-terse --dry-run --yes: %+v, %v", o, err)
	}
	for args, want := range map[string][]string{
		"--query-terse and the ARN argument":       {"3f2a1b9c", "--query-terse", "tag:a"},
		"--filter-statement and --certificate-arn": {"--certificate-arn", "x", "--filter-statement", "{}"},
		"--filter-statement and --due":             {"--due", "--filter-statement", "{}"},
		"--filter-statement and --query-terse":     {"--filter-statement", "{}", "--query-terse", "tag:a"},
	} {
		_, err := flagtest.Parse(t, NewCmdRenew, want...)
		if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), args) {
			t.Errorf("%q: exit %d (%v), want 2 naming %q", want, errs.ExitCodeOf(err), err, args)
		}
	}
}

// TestNoteworthy: -q keeps what happened or needs the operator — renewed,
// failed, pending validation, and any certificate whose deploy targets were
// installed (or failed to be) in this run — and drops the rest.
func TestNoteworthy(t *testing.T) {
	in := []renewals.Result{
		{CertificateArn: "renewed", Outcome: "RENEWED"},
		{CertificateArn: "not-due", Outcome: "NOT_DUE"},
		{CertificateArn: "redeployed", Outcome: "NOT_DUE", Deployed: true},
		{CertificateArn: "ineligible", Outcome: "INELIGIBLE"},
		{CertificateArn: "failed", Outcome: "FAILED"},
		{CertificateArn: "pending", Outcome: "PENDING_VALIDATION"},
	}
	var got []string
	for _, r := range noteworthy(in, false) {
		got = append(got, r.CertificateArn)
	}
	if strings.Join(got, " ") != "renewed redeployed failed pending" {
		t.Fatalf("noteworthy: %v", got)
	}
	// In a selection an INELIGIBLE certificate was refused (exit 7): kept.
	got = nil
	for _, r := range noteworthy(in, true) {
		got = append(got, r.CertificateArn)
	}
	if strings.Join(got, " ") != "renewed redeployed ineligible failed pending" {
		t.Fatalf("noteworthy of a selection: %v", got)
	}
	if out := noteworthy(nil, false); out == nil || len(out) != 0 {
		t.Fatalf("noteworthy(nil) = %#v, want an empty list", out)
	}
}
