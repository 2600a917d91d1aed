package renewals

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestRenewalOnAClockBehind: a host whose clock is behind the one that
// made the current version does not renew the certificate — the renewal
// would start before the current version, and every host that installed
// that one would refuse it until the certificate next came due (tester:
// a host an hour slow renewed, the others refused the version as
// "older" at every pass). renew ARN is refused (exit 5), the due pass
// reports FAILED saying why and its dry run predicts it, nothing is made;
// with the clock right again it renews.
func TestRenewalOnAClockBehind(t *testing.T) {
	ctx := context.Background()
	_, core, req, now, s := deployedFixture(t, "slow.internal")
	version := func() int {
		t.Helper()
		var n int
		if err := core.Read(ctx, func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(req.ID)
			n = c.Version
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	right := *now
	*now = right.Add(-time.Hour)
	_, err := s.Renew(ctx, req.CertificateArn)
	if errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("renew on a clock an hour behind: %v (exit %d), want refused, saying the clock is behind", err, errs.ExitCodeOf(err))
	}
	for _, dry := range []bool{true, false} {
		rep, err := s.RenewDue(ctx, DueOptions{DryRun: dry, Within: 365 * 24 * time.Hour})
		if err != nil && errs.ExitCodeOf(err) != errs.ExitPartial {
			t.Fatal(err)
		}
		if len(rep.Results) != 1 || rep.Results[0].Outcome != renewal.Failed || !strings.Contains(rep.Results[0].Reason, "clock") {
			t.Errorf("due pass (dry run %v) on a clock behind: %+v", dry, rep.Results)
		}
	}
	if n := version(); n != 1 {
		t.Fatalf("version %d made on a clock behind", n)
	}
	*now = right.Add(time.Minute)
	if _, err := s.Renew(ctx, req.CertificateArn); err != nil || version() != 2 {
		t.Fatalf("renew with the clock right: %v, version %d", err, version())
	}
}

// TestRenewalPastAVersionFromFarAhead: a current version valid only from
// far beyond any clock's error (a certificate put into the store, valid
// from a day and more on) does not stop the renewal that replaces it.
func TestRenewalPastAVersionFromFarAhead(t *testing.T) {
	ctx := context.Background()
	v, _, req, _, s := deployedFixture(t, "ahead.internal")
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(req.ID)
		if err != nil {
			return err
		}
		c.NotBefore = c.NotBefore.Add(25 * time.Hour)
		return tx.PutCertificate(c)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Renew(ctx, req.CertificateArn); err != nil {
		t.Fatalf("renew past a version valid from 25 hours on: %v", err)
	}
}

// TestShortLivedRenewalRightAfterIssuance: a certificate of a
// SHORT_LIVED_CERTIFICATE CA lasting the CA's 7 days starts when it is
// issued, not a minute before: renewed half a minute after its issuance,
// on the one clock, it is not taken for a version older than the current
// one (review: refused, exit 5, "this host's clock is behind").
func TestShortLivedRenewalRightAfterIssuance(t *testing.T) {
	ctx := context.Background()
	v, core, _, now := newFixture(t, "unused.internal")
	var caID string
	if err := core.Change(ctx, "CreateCertificateAuthority", func(op *service.Op) error {
		r, err := core.Authority.Create(op.Tx, authority.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
			Subject: authority.Subject{CommonName: "Short Root"}, Validity: 365 * 24 * time.Hour, UsageMode: authority.UsageShortLived})
		if err == nil {
			caID = r.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	req, err := certificates.New(core, certificates.Settings{CertificateValidity: week}).Request(ctx,
		certificates.RequestInput{DomainName: "short.internal", CertificateAuthority: caID, KeyAlgorithm: "EC_prime256v1"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, Settings{Validity: week, Host: func() (deploy.Host, error) { return deploy.LocalHost(v.Dir, "h1") }})
	dir := t.TempDir()
	if _, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(30 * time.Second)
	rep, err := s.RenewDue(ctx, DueOptions{DryRun: true, Within: week})
	if err != nil || len(rep.Results) != 2 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	for _, r := range rep.Results {
		if r.CertificateArn == req.CertificateArn && r.Outcome != renewal.Renewed {
			t.Errorf("dry run of the renewal: %+v", r)
		}
	}
	if _, err := s.Renew(ctx, req.CertificateArn); err != nil {
		t.Fatalf("renewal half a minute after issuance: %v", err)
	}
}
