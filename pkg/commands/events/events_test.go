package events

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
	ev "github.com/certctl/certctl/pkg/events"
)

func TestEventsFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdEvents, "--since", "7d", "--follow", "--type", "Certificate Expired", "--type", "Certificate Revoked")
	if err != nil {
		t.Fatal(err)
	}
	if o.Since != "7d" || !o.Follow || len(o.Types) != 2 || o.Types[0] != "Certificate Expired" || o.Types[1] != "Certificate Revoked" {
		t.Errorf("options %+v", o)
	}
	now := time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	if q, err := o.query(); err != nil || !q.Since.Equal(now.Add(-7*24*time.Hour)) || len(q.Types) != 2 {
		t.Errorf("query %+v, %v", q, err)
	}
	// Comma-separated, as SPEC's list-valued flags.
	o, err = flagtest.Parse(t, NewCmdEvents, "--type", "Certificate Expired,Certificate Revoked", "--type", "Certificate Available")
	if err != nil || strings.Join(o.Types, "|") != "Certificate Expired|Certificate Revoked|Certificate Available" {
		t.Errorf("comma-separated --type: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdEvents, "--since", "2030-01-02T03:04:05Z")
	if err != nil || o.Since != "2030-01-02T03:04:05Z" || o.Follow {
		t.Errorf("RFC 3339 --since: %+v, %v", o, err)
	}
	if q, err := o.query(); err != nil || !q.Since.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("query %+v, %v", q, err)
	}
	for _, args := range [][]string{
		{"--since", "yesterday"},
		{"--type", "Certificate Lost"},
		{"--type", ""},
		{"--since", ""},
		{"--type", "Certificate Expired,"},
		{"extra"},
	} {
		if _, err := flagtest.Parse(t, NewCmdEvents, args...); errs.ExitCodeOf(err) != errs.ExitUsage {
			t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
		}
	}
	if o, err := flagtest.Parse(t, NewCmdEvents, "--nosuch"); err == nil || o != nil {
		t.Errorf("an unknown flag accepted: %+v", o)
	}
}

// TestDetailColumn: a Renewal Action Required event's DETAIL says what
// needs the operator — its deployment errors, or its reason — not the
// DaysToExpiry it also carries (on-call tester: "DaysToExpiry=0"); an
// Approaching Expiration event says DaysToExpiry.
func TestDetailColumn(t *testing.T) {
	out := Output{Events: []*ev.Event{
		{DetailType: ev.RenewalActionRequired, Detail: map[string]any{"DaysToExpiry": 0, "DeploymentErrors": []any{"file:/a.pem (host h): deploy hook failed: exit status 1"}}},
		{DetailType: ev.RenewalActionRequired, Detail: map[string]any{"DaysToExpiry": 3, "RenewalStatus": "FAILED", "RenewalStatusReason": "PCA_INVALID_STATE"}},
		{DetailType: ev.ApproachingExpiration, Detail: map[string]any{"DaysToExpiry": 12, "CommonName": "x"}},
	}}
	rows := view(out).Records()
	want := []string{"DeploymentErrors=file:/a.pem (host h): deploy hook failed: exit status 1", "Reason=PCA_INVALID_STATE", "DaysToExpiry=12"}
	for i, w := range want {
		if got := rows[i][3]; got != w {
			t.Errorf("event %d: DETAIL %q, want %q", i, got, w)
		}
	}
}
