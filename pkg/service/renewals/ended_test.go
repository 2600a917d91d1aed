package renewals

import (
	"context"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/validations"
)

// TestEndedRequestToldOnceAcrossPasses: a pending request that another
// pass (another host's, on a shared store) ends while this pass reaches it
// is not told as ended by this pass too — only the pass that ended it
// tells it (review: both hosts' cron mailed it). Unraced, this pass tells
// it.
func TestEndedRequestToldOnceAcrossPasses(t *testing.T) {
	for _, raced := range []bool{false, true} {
		ctx := context.Background()
		_, core, _, now := newFixture(t, "first.internal")
		req, err := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour,
			Validations: validations.New(core, validations.Settings{})}).
			Request(ctx, certificates.RequestInput{DomainName: "late.example.test", ValidationMethod: "EMAIL"})
		if err != nil {
			t.Fatal(err)
		}
		*now = now.Add(73 * time.Hour)
		s := New(core, Settings{Validity: 30 * 24 * time.Hour})
		other := New(core, Settings{Validity: 30 * 24 * time.Hour})
		if raced {
			s.reaching = func(id string) {
				if id != req.ID {
					return
				}
				// The other host's pass times it out first.
				var c *localstore.Certificate
				if err := core.Read(ctx, func(tx localstore.Tx) (err error) {
					c, err = tx.GetCertificate(id)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if _, ended, err := other.validations.AdvancePending(ctx, c, false); err != nil || !ended {
					t.Fatalf("the other pass: ended %v, %v", ended, err)
				}
			}
		}
		rep, err := s.due(ctx, DueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		told := false
		for _, r := range rep.Results {
			told = told || r.CertificateArn == req.CertificateArn && r.Advanced
		}
		if told == raced {
			t.Errorf("raced %v: this pass told the timeout %v, want %v (%+v)", raced, told, !raced, rep.Results)
		}
	}
}

// TestExpiredToldOnceAcrossPasses: a certificate exported for certctl to
// renew that expired first fails the pass whose change moves it to
// EXPIRED, and not another pass that reaches it after (another host's, at
// once: both snapshots said ISSUED — review).
func TestExpiredToldOnceAcrossPasses(t *testing.T) {
	for _, raced := range []bool{false, true} {
		ctx := context.Background()
		v, core, req, now := newFixture(t, "lapsed.internal")
		var notAfter time.Time
		if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(req.ID)
			if err != nil {
				return err
			}
			c.Exported, notAfter = true, c.NotAfter
			return tx.PutCertificate(c)
		}); err != nil {
			t.Fatal(err)
		}
		*now = notAfter.Add(time.Minute)
		s := New(core, Settings{Validity: 30 * 24 * time.Hour})
		other := New(core, Settings{Validity: 30 * 24 * time.Hour})
		if raced {
			s.reaching = func(id string) {
				if id != req.ID {
					return
				}
				// The other pass expires it first.
				if _, expired, err := other.housekeep(ctx, id, 45, *now); err != nil || !expired {
					t.Fatalf("the other pass: expired %v, %v", expired, err)
				}
			}
		}
		rep, err := s.due(ctx, DueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "FAILED"
		if raced {
			want = "INELIGIBLE"
		}
		for _, r := range rep.Results {
			if r.CertificateArn == req.CertificateArn && r.Outcome != want {
				t.Errorf("raced %v: %s (%s), want %s", raced, r.Outcome, r.Reason, want)
			}
		}
	}
}
