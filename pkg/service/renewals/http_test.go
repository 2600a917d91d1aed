package renewals

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// TestHTTPRenewalRechecksRedirect: an HTTP-validated ISSUED certificate is
// renewed only while its validation redirect is in place, as in ACM: with
// the site's redirect gone (404), `renew --due` and `renew ARN` leave it
// PENDING_VALIDATION with a reason naming the name and the URL tried — the
// certificate ISSUED, its RenewalSummary PENDING_VALIDATION, one Renewal
// Action Required event however many passes — and once the redirect is
// back (to what `validate serve-http` serves, which still serves an issued
// certificate's file), the next pass renews (review: it was renewed with a
// CAA check only). Everything is served on loopback.
func TestHTTPRenewalRechecksRedirect(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = pgtest.FreshSchema(t)
			}
			testHTTPRenewal(t, url)
		})
	}
}

func testHTTPRenewal(t *testing.T, storeURL string) {
	ctx := context.Background()
	const name = "web.example.test"
	now := time.Now().UTC()
	core := coretest.New(t, coretest.Config{Now: func() time.Time { return now }, StoreURL: storeURL,
		Actor: audit.Actor{Type: audit.ActorUser, ID: "t", Host: "h1"}})
	d := validationtest.StartDNS(t)
	d.Add(t, name+". 300 IN A 127.0.0.1")

	vset := validations.Settings{Validation: validation.Settings{Resolvers: []string{d.Addr},
		CAAIdentities: []string{"certctl.local"}, Validity: 90 * 24 * time.Hour}}
	// validate serve-http, and the customer's site, whose pki-validation
	// files redirect to it while redirecting is on.
	files := httptest.NewServer(validations.New(core, vset).HTTPHandler())
	t.Cleanup(files.Close)
	vset.Validation.HTTPBaseURL = files.URL + "/pki"
	var redirecting atomic.Bool
	redirecting.Store(true)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !redirecting.Load() || r.Host != name || !strings.HasPrefix(r.URL.Path, "/.well-known/pki-validation/") {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, vset.Validation.HTTPBaseURL+"/"+path.Base(r.URL.Path), http.StatusMovedPermanently)
	}))
	t.Cleanup(site.Close)
	_, port, _ := net.SplitHostPort(site.Listener.Addr().String())
	vset.Validation.HTTPPort, _ = strconv.Atoi(port)

	vs := validations.New(core, vset)
	req, err := certificates.New(core, certificates.Settings{CertificateValidity: 90 * 24 * time.Hour, Validations: vs}).
		Request(ctx, certificates.RequestInput{DomainName: name, ValidationMethod: validation.MethodHTTP,
			KeyAlgorithm: "EC_prime256v1", Export: "ENABLED"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := vs.Check(ctx, req.CertificateArn, validations.CheckOptions{}); err != nil || res.Status != inventory.StatusIssued {
		t.Fatalf("validation: %v %+v", err, res)
	}
	s := New(core, Settings{Window: 60 * 24 * time.Hour, Validity: 90 * 24 * time.Hour, Validations: vset,
		Host: func() (deploy.Host, error) { return deploy.LocalHost(core.Vault.Dir, "h1") }})
	dir := t.TempDir()
	if _, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}); err != nil {
		t.Fatal(err)
	}
	get := func() *localstore.Certificate {
		t.Helper()
		var c *localstore.Certificate
		if err := core.Read(ctx, func(tx localstore.Tx) (err error) {
			c, err = tx.GetCertificate(req.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	actionRequired := func() int {
		t.Helper()
		n := 0
		if err := core.Read(ctx, func(tx localstore.Tx) error {
			rows, err := tx.ListEvents(0, time.Time{}, 0)
			for _, r := range rows {
				ev, derr := events.Decode(r.Data)
				if derr == nil && ev.DetailType == events.RenewalActionRequired && len(ev.Resources) == 1 && ev.Resources[0] == req.CertificateArn {
					n++
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	from := get().Validations[0].RedirectFrom
	outcome := func(rep *Report) Result {
		t.Helper()
		for _, r := range rep.Results {
			if r.CertificateArn == req.CertificateArn {
				return r
			}
		}
		t.Fatalf("%s not reported: %+v", req.CertificateArn, rep.Results)
		return Result{}
	}

	// Due, the redirect gone: pending at every pass and at renew ARN.
	redirecting.Store(false)
	now = get().NotAfter.Add(-20 * 24 * time.Hour)
	for pass := 1; pass <= 3; pass++ {
		var rep *Report
		if pass == 2 {
			rep, err = s.Renew(ctx, req.CertificateArn)
		} else {
			rep, err = s.RenewDue(ctx, DueOptions{})
		}
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		got := outcome(rep)
		if got.Outcome != renewal.PendingValidation || !strings.Contains(got.Reason, name+": ") || !strings.Contains(got.Reason, from) ||
			!strings.Contains(got.Reason, "404") {
			t.Fatalf("pass %d without the redirect: %s (%s), want PENDING_VALIDATION naming %s and %s", pass, got.Outcome, got.Reason, name, from)
		}
		c := get()
		if c.Status != inventory.StatusIssued || c.Version != 1 || c.Renewal == nil ||
			c.Renewal.Status != renewal.StatusPendingValidation || c.Renewal.Reason != renewal.ReasonPendingDomainValidation {
			t.Fatalf("pass %d without the redirect: %s v%d %+v", pass, c.Status, c.Version, c.Renewal)
		}
		if c.Validations[0].Status != validation.StatusPending {
			t.Fatalf("pass %d: name %s", pass, c.Validations[0].Status)
		}
		if n := actionRequired(); n != 1 {
			t.Fatalf("pass %d: %d Renewal Action Required events, want 1", pass, n)
		}
		now = now.Add(time.Hour)
	}

	// The audit log says what the passes did: one RenewCertificate
	// record (the later passes changed nothing), which is no renewal that
	// succeeded with no parameter (tester) but where it left the renewal.
	renewRecords := func() []*audit.Record {
		t.Helper()
		var out []*audit.Record
		if err := core.Read(ctx, func(tx localstore.Tx) error {
			recs, err := audit.List(tx, audit.Filter{EventName: "RenewCertificate", Resource: req.CertificateArn}, 0, 0)
			out = recs
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	recs := renewRecords()
	if len(recs) != 1 || recs[0].Outcome != audit.OutcomeSuccess ||
		recs[0].RequestParameters["RenewalStatus"] != renewal.StatusPendingValidation ||
		recs[0].RequestParameters["RenewalStatusReason"] != renewal.ReasonPendingDomainValidation {
		t.Fatalf("RenewCertificate records of the passes without the redirect: %+v", recs)
	}

	// The redirect back, but a CAA record that forbids certctl: still
	// PENDING_VALIDATION, now for CAA_ERROR, recorded as a FAILURE with
	// that code and why.
	redirecting.Store(true)
	d.Add(t, name+`. 300 IN CAA 0 issue "ca.elsewhere.test"`)
	rep, err := s.RenewDue(ctx, DueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(rep); got.Outcome != renewal.PendingValidation || !strings.Contains(got.Reason, "CAA") {
		t.Fatalf("CAA forbidding: %s (%s), want PENDING_VALIDATION for CAA", got.Outcome, got.Reason)
	}
	if c := get(); c.Version != 1 || c.Renewal == nil || c.Renewal.Reason != validation.ReasonCAA {
		t.Fatalf("CAA forbidding: v%d %+v", c.Version, c.Renewal)
	}
	recs = renewRecords()
	if last := recs[len(recs)-1]; len(recs) != 2 || last.Outcome != audit.OutcomeFailure || last.ErrorCode != validation.ReasonCAA ||
		!strings.Contains(last.ErrorMessage, "CAA") || last.RequestParameters["RenewalStatusReason"] != validation.ReasonCAA ||
		last.RequestParameters["RenewalStatus"] != renewal.StatusPendingValidation {
		t.Fatalf("RenewCertificate records once CAA forbids it: %+v", recs)
	}

	// The CAA record gone: the next pass renews.
	d.Clear()
	d.Add(t, name+". 300 IN A 127.0.0.1")
	rep, err = s.RenewDue(ctx, DueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(rep); got.Outcome != renewal.Renewed {
		t.Fatalf("redirect back: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}
	c := get()
	if c.Status != inventory.StatusIssued || c.Version != 2 || c.Renewal == nil || c.Renewal.Status != renewal.StatusSuccess ||
		c.Validations[0].Status != validation.StatusSuccess {
		t.Fatalf("after the renewal: %s v%d %+v %s", c.Status, c.Version, c.Renewal, c.Validations[0].Status)
	}
}
