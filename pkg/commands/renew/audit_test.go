package renew_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// auditLog returns the vault's audit records, oldest first.
func auditLog(t *testing.T, e *clitest.Env) []*audit.Record {
	t.Helper()
	v := e.OpenVault()
	defer v.Close()
	var recs []*audit.Record
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// since returns the records after the first n.
func since(recs []*audit.Record, n int) []*audit.Record { return recs[n:] }

func names(recs []*audit.Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.EventName+"/"+r.Outcome+"/"+r.Actor.Type)
	}
	return strings.Join(s, " ")
}

// TestAuditRenewals: deploy, renew ARN, its redeployment, the due pass's
// renewal and expiry are each recorded — by the user or, for renew --due,
// by the scheduler — naming the certificate; a refused renewal is a
// FAILURE; the deploy command itself is never recorded, only whether there
// is one; a pass that changes nothing records nothing.
func TestAuditRenewals(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("audit.internal")
	if r := e.Run("renew", arn); r.Code != errs.ExitRefused {
		t.Fatalf("renew of a never exported certificate: %v", r)
	}
	recs := auditLog(t, e)
	last := recs[len(recs)-1]
	if last.EventName != "RenewCertificate" || last.Outcome != audit.OutcomeFailure || last.ErrorCode != "InvalidStateException" ||
		len(last.Resources) != 1 || last.Resources[0] != arn || last.Actor.Type != audit.ActorUser {
		t.Fatalf("refused renewal recorded as %+v", last)
	}

	// A refused deploy is recorded too.
	dir := t.TempDir()
	revoked := e.RequestPrivate("revoked.internal")
	e.MustRun("revoke", revoked, "--revocation-reason", "SUPERSEDED")
	if r := e.Run("deploy", revoked, "--cert-file", filepath.Join(dir, "r.pem"), "--key-file", filepath.Join(dir, "r.key")); r.Code != errs.ExitRefused {
		t.Fatalf("deploy of a revoked certificate: %v", r)
	}
	recs = auditLog(t, e)
	if last := recs[len(recs)-1]; last.EventName != "DeployCertificate" || last.Outcome != audit.OutcomeFailure ||
		len(last.Resources) != 1 || last.Resources[0] != revoked {
		t.Fatalf("refused deploy recorded as %+v", last)
	}

	n := len(recs)
	hook := "echo secret-hook-command > /dev/null"
	e.MustRun("deploy", arn, "--cert-file", filepath.Join(dir, "c.pem"), "--key-file", filepath.Join(dir, "k.pem"), "--exec", hook)
	recs = auditLog(t, e)
	dep := since(recs, n)
	if len(dep) != 1 || dep[0].EventName != "DeployCertificate" || dep[0].Outcome != audit.OutcomeSuccess || dep[0].Resources[0] != arn {
		t.Fatalf("deploy recorded as %s", names(dep))
	}
	p := dep[0].RequestParameters
	if p["CertFile"] != filepath.Join(dir, "c.pem") || p["KeyFile"] != filepath.Join(dir, "k.pem") || p["Exec"] != true {
		t.Fatalf("deploy parameters %v", p)
	}

	n = len(recs)
	e.MustRun("renew", arn)
	recs = auditLog(t, e)
	got := since(recs, n)
	if names(got) != "RenewCertificate/SUCCESS/USER DeployCertificate/SUCCESS/USER" || got[0].Resources[0] != arn || got[1].Resources[0] != arn {
		t.Fatalf("renew ARN recorded as %s", names(got))
	}
	if ts, ok := got[1].RequestParameters["Targets"].([]any); !ok || len(ts) != 1 || ts[0].(map[string]any)["Installed"] != true {
		t.Fatalf("redeployment parameters %v", got[1].RequestParameters)
	}

	// A pass with nothing to do records nothing.
	n = len(recs)
	e.MustRun("renew", "--due")
	if recs = auditLog(t, e); len(recs) != n {
		t.Fatalf("a pass with nothing to do recorded %s", names(since(recs, n)))
	}

	// The due pass renews (and redeploys) as the scheduler.
	e.SetNow(e.Describe(arn).NotAfter.Add(-60 * day))
	e.MustRun("renew", "--due")
	recs = auditLog(t, e)
	got = since(recs, n)
	if names(got) != "RenewCertificate/SUCCESS/SCHEDULER DeployCertificate/SUCCESS/SCHEDULER" {
		t.Fatalf("renew --due recorded as %s", names(got))
	}
	if a := got[0].Actor; a.ID != "renew --due" || a.Host == "" {
		t.Fatalf("scheduler actor %+v", a)
	}

	// Past NotAfter: the move to EXPIRED is recorded (the pass fails:
	// the certificate is still deployed).
	n = len(recs)
	e.SetNow(e.Describe(arn).NotAfter.Add(day))
	if r := e.Run("renew", "--due"); r.Code != 7 {
		t.Fatalf("the pass that expires a deployed certificate: %v", r)
	}
	recs = auditLog(t, e)
	got = since(recs, n)
	if names(got) != "ExpireCertificate/SUCCESS/SCHEDULER" || got[0].Resources[0] != arn {
		t.Fatalf("expiry recorded as %s", names(got))
	}

	b, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret-hook-command") {
		t.Fatal("the deploy command reached the audit log")
	}
}

// TestAuditFailedRenewal: a renewal that fails in the due pass (its CA is
// disabled) is a FAILURE of RenewCertificate with the CA's reason, and the
// failure recorded on the certificate is a change of its own.
func TestAuditFailedRenewal(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("fail.internal")
	e.Export(arn)
	d := e.Describe(arn)
	e.MustRun("ca", "update", d.CertificateAuthorityArn, "--status", "DISABLED")
	e.SetNow(d.NotAfter.Add(-60 * day))
	// The dry run tells the failure as the pass will, its code first
	// (tester: "would fail: certificate authority … is DISABLED").
	code, res, r := e.Renew("--due", "--dry-run")
	if code != errs.ExitPartial || res[arn].Outcome != "FAILED" || !strings.HasPrefix(res[arn].Reason, "dry run: would fail: PCA_INVALID_STATE: ") {
		t.Fatalf("renew --due --dry-run with the CA disabled: %v", r)
	}
	n := len(auditLog(t, e))
	code, res, r = e.Renew("--due")
	if code != errs.ExitPartial || res[arn].Outcome != "FAILED" {
		t.Fatalf("renew --due with the CA disabled: %v", r)
	}
	// The report's reason leads with the code describe and the event show
	// (tester: only the words).
	if !strings.HasPrefix(res[arn].Reason, "PCA_INVALID_STATE: ") {
		t.Errorf("reason %q, want it to begin with PCA_INVALID_STATE", res[arn].Reason)
	}
	got := since(auditLog(t, e), n)
	if names(got) != "RenewCertificate/FAILURE/SCHEDULER RecordRenewalFailure/SUCCESS/SCHEDULER" {
		t.Fatalf("failed renewal recorded as %s", names(got))
	}
	if got[0].ErrorCode != "PCA_INVALID_STATE" || got[0].Resources[0] != arn || got[1].RequestParameters["RenewalStatusReason"] != "PCA_INVALID_STATE" {
		t.Fatalf("failed renewal records %+v %+v", got[0], got[1])
	}
	if s := e.Describe(arn).RenewalSummary; s == nil || s.RenewalStatus != "FAILED" || s.RenewalStatusReason != "PCA_INVALID_STATE" {
		t.Fatalf("RenewalSummary %+v", s)
	}
}
