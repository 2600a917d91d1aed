package renewals

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestRefusedInstallIsRecorded: a version the due pass does not install
// to this host's target (here one valid only from the future, made by a
// host whose clock is fast) is recorded in the store, where every host
// and the metrics see it: the target's last error, a DeployCertificate
// FAILURE record and a Renewal Action Required event — once, not at every
// pass — and cleared when the version installs (tester: only this host's
// cron mail heard of it; no event, no audit record, the metric 0).
func TestRefusedInstallIsRecorded(t *testing.T) {
	ctx := context.Background()
	v, core, req, now, s := deployedFixture(t, "fast.internal")
	right := *now
	// Another host, whose clock is fast, renews it.
	other := New(core, Settings{Validity: 30 * 24 * time.Hour, Host: func() (deploy.Host, error) { return deploy.LocalHost(t.TempDir(), "h2") }})
	*now = right.Add(time.Hour)
	if _, err := other.Renew(ctx, req.CertificateArn); err != nil {
		t.Fatal(err)
	}
	state := func() (lastError string, failures, actionRequired int) {
		t.Helper()
		if err := core.Read(ctx, func(tx localstore.Tx) error {
			ts, err := deploy.Targets(tx, req.ID)
			if err != nil || len(ts) != 1 {
				t.Fatalf("targets %+v, %v", ts, err)
			}
			lastError = ts[0].LastError
			recs, err := audit.List(tx, audit.Filter{EventName: "DeployCertificate"}, 0, 0)
			for _, r := range recs {
				if r.Outcome == audit.OutcomeFailure && r.ErrorCode == CodeDeploymentFailed {
					failures++
				}
			}
			if err != nil {
				return err
			}
			rows, err := tx.ListEvents(0, time.Time{}, 0)
			for _, r := range rows {
				if ev, derr := events.Decode(r.Data); derr == nil && ev.DetailType == events.RenewalActionRequired {
					actionRequired++
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	*now = right.Add(2 * time.Minute)
	// A refusal the store fails to record is a notice: the pass reports
	// it all the same and goes on (review: the pass stopped there).
	armed := true
	v.Store = failOnce{v.Store, &armed}
	host, err := s.host()
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	s.recordRefused(ctx, &rep, req.CertificateArn, req.ID, []refusedTarget{{host.Bind(req.ID, deploy.Target{CertFile: "/x.pem"}), "refused"}})
	if len(rep.Notices) != 1 || !strings.Contains(rep.Notices[0], "could not be recorded") {
		t.Errorf("a refusal the store failed to record: notices %q", rep.Notices)
	}
	// A later pass begins no write transaction for the refusal recorded
	// already (review): with nothing new, it writes nothing.
	counted := &countUpdates{Store: v.Store}
	v.Store = counted
	var writes [3]int
	for pass := 1; pass <= 2; pass++ {
		before := counted.n
		rep, err := s.RenewDue(ctx, DueOptions{})
		writes[pass] = counted.n - before
		if err != nil {
			t.Fatal(err)
		}
		if errs.ExitCodeOf(rep.Err()) != errs.ExitPartial || len(rep.Results) != 1 || len(rep.Results[0].Targets) != 1 || rep.Results[0].Targets[0].Outcome != TargetFailed {
			t.Fatalf("pass %d with a version from the future: %+v, %v", pass, rep.Results, rep.Err())
		}
		lastError, failures, actionRequired := state()
		if !strings.Contains(lastError, "valid only from") || failures != 1 || actionRequired != 1 {
			t.Errorf("pass %d: the target's last error %q, %d FAILURE records, %d Renewal Action Required events; want the refusal, 1, 1",
				pass, lastError, failures, actionRequired)
		}
	}
	if writes[1] == 0 || writes[2] != 0 {
		t.Errorf("write transactions: %d in the pass that recorded the refusal, %d in the next; want some, then none", writes[1], writes[2])
	}
	*now = right.Add(time.Hour + time.Minute)
	if rep, err := s.RenewDue(ctx, DueOptions{}); err != nil || rep.Results[0].Targets[0].Outcome != TargetInstalled {
		t.Fatalf("pass once the version is valid: %+v, %v", rep.Results, err)
	}
	if lastError, _, _ := state(); lastError != "" {
		t.Errorf("installed, the target's last error is still %q", lastError)
	}
}

// countUpdates is a store that counts its write transactions.
type countUpdates struct {
	localstore.Store
	n int
}

func (c *countUpdates) Update(ctx context.Context, fn func(localstore.Tx) error) error {
	c.n++
	return c.Store.Update(ctx, fn)
}
