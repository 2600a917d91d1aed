package validation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestEmailRenewalApproval: StartEmailRenewal puts every name back to
// PENDING_VALIDATION with new codes; approving them marks the names
// validated without issuing (the certificate stays ISSUED, same version);
// resend works while the renewal is pending, even after 72 hours.
func TestEmailRenewalApproval(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	names := []string{"a.example.test", "b.example.test"}
	c, msgs := f.request(MethodEmail, x509util.ECPrime256v1, names)
	codes := map[string]string{}
	for _, m := range msgs {
		codes[m.DomainName] = m.Code
	}
	for _, n := range names {
		if _, _, err := f.approve(codes[n]); err != nil {
			t.Fatal(err)
		}
	}
	if c = f.get(c.ID); c.Status != inventory.StatusIssued || c.Version != 1 {
		t.Fatalf("issued: %s v%d", c.Status, c.Version)
	}
	if RenewalPending(c) {
		t.Fatal("renewal pending before it started")
	}

	f.clk.t = f.clk.t.Add(50 * 24 * time.Hour)
	var renewalMsgs []Message
	if err := f.svc.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		cur, err := tx.GetCertificate(c.ID)
		if err != nil {
			return err
		}
		if renewalMsgs, err = f.svc.StartEmailRenewal(tx, cur, f.clk.Now()); err != nil {
			return err
		}
		cur.Renewal = &localstore.RenewalSummary{Status: StatusPending, UpdatedAt: f.clk.Now()}
		return tx.PutCertificate(cur)
	}); err != nil {
		t.Fatal(err)
	}
	if len(renewalMsgs) != 10 {
		t.Fatalf("%d renewal messages, want 10", len(renewalMsgs))
	}
	c = f.get(c.ID)
	if !RenewalPending(c) || AllValidated(c) || strings.Join(PendingNames(c), ",") != "a.example.test,b.example.test" {
		t.Fatalf("after start: pending %v, names %v", RenewalPending(c), PendingNames(c))
	}
	newCodes := map[string]string{}
	for _, m := range renewalMsgs {
		newCodes[m.DomainName] = m.Code
		if m.Code == codes[m.DomainName] {
			t.Fatal("the renewal reuses the issuance code")
		}
	}
	if _, _, err := f.approve(codes[names[0]]); exitOf(err) != errs.ExitRefused {
		t.Fatalf("issuance code at renewal: %v", err)
	}
	cert, name, err := f.approve(newCodes[names[0]])
	if err != nil || name != names[0] || cert.Status != inventory.StatusIssued {
		t.Fatalf("approve: %v %s %+v", err, name, cert)
	}
	// Past 72 hours after the start the code has expired, but the
	// certificate does not time out: a resent code works.
	f.clk.t = f.clk.t.Add(73 * time.Hour)
	if _, _, err := f.approve(newCodes[names[1]]); exitOf(err) != errs.ExitRefused {
		t.Fatalf("expired renewal code: %v", err)
	}
	var resent []Message
	if err := f.svc.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		resent, err = f.svc.Resend(tx, c.ID, names[1], "")
		return err
	}); err != nil || len(resent) != 5 {
		t.Fatalf("resend during the renewal: %v, %d messages", err, len(resent))
	}
	if _, _, err := f.approve(resent[0].Code); err != nil {
		t.Fatal(err)
	}
	c = f.get(c.ID)
	if c.Status != inventory.StatusIssued || c.Version != 1 || !AllValidated(c) || !RenewalPending(c) {
		t.Fatalf("every name approved: %s v%d validated %v pending %v", c.Status, c.Version, AllValidated(c), RenewalPending(c))
	}
	if _, _, err := f.approve(resent[0].Code); exitOf(err) != errs.ExitRefused {
		t.Fatalf("code used twice: %v", err)
	}
}

// TestApplyRecheck: names whose check succeeded become SUCCESS, the others
// PENDING_VALIDATION with their reason; a definite failure's code is kept.
func TestApplyRecheck(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c := &localstore.Certificate{Validations: []localstore.DomainValidation{
		{DomainName: "a.test", Status: StatusSuccess}, {DomainName: "b.test", Status: StatusSuccess}, {DomainName: "c.test", Status: StatusSuccess},
	}}
	ok, why, reason := ApplyRecheck(c, []NameCheck{
		{DomainName: "a.test", Status: StatusSuccess},
		{DomainName: "b.test", Status: StatusPending, Detail: "no CNAME record"},
		{DomainName: "c.test", Status: StatusFailed, Detail: "CAA forbids", Reason: ReasonCAA},
	}, now)
	if ok || reason != ReasonCAA || !strings.Contains(why, "b.test: no CNAME record") || !strings.Contains(why, "c.test: CAA forbids") {
		t.Fatalf("ok %v why %q reason %q", ok, why, reason)
	}
	if st := statuses(c); st["a.test"] != StatusSuccess || st["b.test"] != StatusPending || st["c.test"] != StatusPending {
		t.Fatalf("statuses %v", st)
	}
	if !c.Validations[1].UpdatedAt.Equal(now) || !c.Validations[0].UpdatedAt.IsZero() {
		t.Fatalf("UpdatedAt %+v", c.Validations)
	}
	ok, why, reason = ApplyRecheck(c, []NameCheck{
		{DomainName: "a.test", Status: StatusSuccess}, {DomainName: "b.test", Status: StatusSuccess}, {DomainName: "c.test", Status: StatusSuccess},
	}, now)
	if !ok || why != "" || reason != "" || !AllValidated(c) {
		t.Fatalf("all back: ok %v why %q reason %q", ok, why, reason)
	}
	if ok, _, _ := ApplyRecheck(&localstore.Certificate{}, nil, now); ok {
		t.Fatal("a certificate without names passed")
	}
}
