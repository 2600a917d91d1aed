package renewals

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
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
