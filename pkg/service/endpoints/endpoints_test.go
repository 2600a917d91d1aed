package endpoints

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"github.com/certctl/certctl/internal/coretest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

var testActor = audit.Actor{Type: audit.ActorUser, ID: "alice", Host: "lab"}

func newService(t *testing.T, resolvers ...string) (*Service, *localstore.Vault) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
	core := coretest.New(t, coretest.Config{Now: now, Actor: testActor})
	return New(core, Settings{Listen: "127.0.0.1:8443", Zone: "zone.test", Resolvers: resolvers}), core.Vault
}

func auditLog(t *testing.T, v *localstore.Vault) ([]*audit.Record, []localstore.AuditRow) {
	t.Helper()
	var recs []*audit.Record
	var rows []localstore.AuditRow
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		if recs, err = audit.List(tx, audit.Filter{}, 0, 0); err != nil {
			return err
		}
		rows, err = tx.ListAudit(0, 1000)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return recs, rows
}

// TestChangesAreAudited: each change of an endpoint, its credentials and
// its domains is one audit record with its AWS-style name, the endpoint's
// ARN and its parameters; a refusal is a FAILURE; reads and a domain check
// that changes nothing are not recorded; the MAC key is recorded nowhere.
func TestChangesAreAudited(t *testing.T) {
	dns := validationtest.StartDNS(t)
	s, v := newService(t, dns.Addr)
	ctx := context.Background()

	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "REQUIRED", Name: "lab",
		AllowedKeyAlgorithms: []string{"EC_prime256v1"}, CertificateTags: []string{"env=lab"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "REQUIRED", Tags: []string{"certctl:x=1"}}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Fatalf("reserved tag: %v", err)
	}
	id := a[len(a)-36:]
	if _, err := s.Describe(ctx, id[:8]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx); err != nil {
		t.Fatal(err)
	}
	name := "lab2"
	if d, _, err := s.Update(ctx, a, UpdateInput{Name: &name}); err != nil || d.Name != "lab2" || d.Contact != "REQUIRED" {
		t.Fatalf("update: %+v, %v", d, err)
	}
	eab, err := s.CreateEAB(ctx, id, false, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := base64.RawURLEncoding.DecodeString(eab.MacKey)
	if err != nil || len(mac) != acmestate.MACKeySize {
		t.Fatalf("MAC key %q: %v", eab.MacKey, err)
	}
	if bs, err := s.ListEAB(ctx, id); err != nil || len(bs) != 1 || bs[0].MacKey != "" {
		t.Fatalf("eab list: %+v, %v", bs, err)
	}
	if r, err := s.RevokeEAB(ctx, id, eab.KeyID[:8], false); err != nil || r.Status != acmestate.EABRevoked {
		t.Fatalf("eab revoke: %+v, %v", r, err)
	}
	dv, err := s.AddDomain(ctx, id, "Example.Test.", false)
	if err != nil || dv.Status != acmestate.DomainPending {
		t.Fatalf("domain add: %+v, %v", dv, err)
	}
	// No record yet: stays PENDING, says why, and records nothing.
	c, err := s.CheckDomain(ctx, id, "example.test")
	if err != nil || c.Domain.Status != acmestate.DomainPending || len(c.Notes) != 1 {
		t.Fatalf("check without the record: %+v, %v", c, err)
	}
	dns.Add(t, dv.ResourceRecord.Name+" 60 IN CNAME "+dv.ResourceRecord.Value)
	if c, err = s.CheckDomain(ctx, id, "example.test"); err != nil || c.Domain.Status != acmestate.DomainValid || len(c.Notes) != 0 {
		t.Fatalf("check with the record: %+v, %v", c, err)
	}
	if _, err := s.CheckDomain(ctx, id, "example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveDomain(ctx, id, "example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveDomain(ctx, id, "example.test"); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("removing again: %v", err)
	}
	if _, err := s.AddDomain(ctx, id, "other.test", true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Delete(ctx, a, nil); err != nil || got.Arn != a {
		t.Fatalf("delete: %+v, %v", got, err)
	}
	if _, err := s.Describe(ctx, id); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("describe after delete: %v", err)
	}

	type want struct {
		name, outcome string
		params        map[string]any
	}
	wants := []want{
		{"CreateAcmeEndpoint", audit.OutcomeSuccess, map[string]any{"Name": "lab", "Contact": "REQUIRED"}},
		{"CreateAcmeEndpoint", audit.OutcomeFailure, nil},
		{"UpdateAcmeEndpoint", audit.OutcomeSuccess, map[string]any{"Name": "lab2"}},
		{"CreateExternalAccountBinding", audit.OutcomeSuccess, map[string]any{"KeyId": eab.KeyID, "Reusable": false, "ExpiresIn": "168h0m0s"}},
		{"RevokeExternalAccountBinding", audit.OutcomeSuccess, map[string]any{"KeyId": eab.KeyID}},
		{"AddAcmeDomain", audit.OutcomeSuccess, map[string]any{"DomainName": "Example.Test.", "PreValidated": false}},
		{"CheckAcmeDomain", audit.OutcomeSuccess, map[string]any{"DomainName": "example.test", "Status": "VALID"}},
		{"RemoveAcmeDomain", audit.OutcomeSuccess, map[string]any{"DomainName": "example.test"}},
		{"RemoveAcmeDomain", audit.OutcomeFailure, nil},
		{"AddAcmeDomain", audit.OutcomeSuccess, map[string]any{"DomainName": "other.test", "PreValidated": true}},
		// What the delete removed with the endpoint (tester: {}).
		{"DeleteAcmeEndpoint", audit.OutcomeSuccess, map[string]any{"DeletedAcmeAccounts": float64(0),
			"DeletedExternalAccountBindings": float64(1), "DeletedDomainValidations": float64(1), "StillValidCertificates": float64(0)}},
	}
	recs, rows := auditLog(t, v)
	if len(recs) != len(wants) {
		for _, r := range recs {
			t.Logf("%s %s", r.EventName, r.Outcome)
		}
		t.Fatalf("%d records, want %d", len(recs), len(wants))
	}
	for i, w := range wants {
		r := recs[i]
		if r.EventName != w.name || r.Outcome != w.outcome || r.Actor != testActor {
			t.Errorf("record %d: %s %s by %+v, want %s %s", i, r.EventName, r.Outcome, r.Actor, w.name, w.outcome)
		}
		if w.name != "CreateAcmeEndpoint" || w.outcome == audit.OutcomeSuccess {
			if !slices.Equal(r.Resources, []string{a}) {
				t.Errorf("%s: resources %v, want [%s]", w.name, r.Resources, a)
			}
		}
		for k, want := range w.params {
			if got := r.RequestParameters[k]; got != want {
				t.Errorf("%s: %s = %#v, want %#v", w.name, k, got, want)
			}
		}
	}
	if recs[1].ErrorCode != "ValidationException" || recs[8].ErrorCode != "ResourceNotFoundException" {
		t.Errorf("failure codes %q, %q", recs[1].ErrorCode, recs[8].ErrorCode)
	}
	for _, row := range rows {
		for _, key := range []string{eab.MacKey, base64.StdEncoding.EncodeToString(mac)} {
			if bytes.Contains(row.Data, []byte(key)) {
				t.Errorf("audit record %d holds the MAC key: %s", row.Seq, row.Data)
			}
		}
	}
}

// TestServingCertificate: the serving certificate of `endpoint serve` is
// issued from the default private CA for the listen host, and recorded.
func TestServingCertificate(t *testing.T) {
	s, v := newService(t)
	cert, err := s.ServingCertificate(context.Background(), "127.0.0.1:8443")
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Leaf.IPAddresses) != 1 || cert.Leaf.IPAddresses[0].String() != "127.0.0.1" || len(cert.Certificate) < 2 {
		t.Fatalf("serving certificate for %v, chain of %d", cert.Leaf.IPAddresses, len(cert.Certificate))
	}
	// One record, naming the default CA it was issued from and the root
	// made with it on first use.
	recs, _ := auditLog(t, v)
	if len(recs) != 1 || recs[0].EventName != "IssueCertificate" || len(recs[0].Resources) != 2 ||
		recs[0].RequestParameters["Serial"] == nil {
		t.Fatalf("records %+v", recs)
	}
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		cas, err := authority.List(tx)
		if err != nil {
			return err
		}
		for _, ca := range cas {
			if !slices.Contains(recs[0].Resources, s.core.Names.CAARN(ca.ID)) {
				t.Errorf("record names %v, not CA %s (%s)", recs[0].Resources, ca.ID, ca.Subject.CommonName)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv, dirs, err := s.Server(context.Background(), "127.0.0.1:9443", nil)
	if err != nil || srv.BaseURL() != "https://127.0.0.1:9443" || len(dirs) != 0 {
		t.Fatalf("server: %v, %v, %v", srv, dirs, err)
	}
}

// TestServerRefusesBaseURL: endpoint serve refuses an endpoint.base_url
// that is not https://, or that carries a query or fragment (exit 4):
// clients would be sent to URLs the TLS server never answers, or broken
// ones (tester).
func TestServerRefusesBaseURL(t *testing.T) {
	s, _ := newService(t)
	for _, u := range []string{"http://acme.internal", "https://acme.internal/p?q=1", "https://acme.internal/#f", "acme.internal"} {
		s.set.BaseURL = u
		if _, _, err := s.Server(context.Background(), "127.0.0.1:8443", nil); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("base URL %q: %v (exit %d), want exit 4", u, err, errs.ExitCodeOf(err))
		}
	}
	s.set.BaseURL = "https://acme.internal:8443/acme"
	if _, _, err := s.Server(context.Background(), "127.0.0.1:8443", nil); err != nil {
		t.Errorf("an https base URL: %v", err)
	}
}

// TestDeleteConfirm: Delete asks confirm with the endpoint's ARN, outside
// the change; a refusal cancels it, and the endpoint confirmed is the one
// deleted.
func TestDeleteConfirm(t *testing.T) {
	ctx := context.Background()
	dns := validationtest.StartDNS(t)
	s, _ := newService(t, dns.Addr)
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "REQUIRED", Name: "asked"})
	if err != nil {
		t.Fatal(err)
	}
	id := a[strings.LastIndexByte(a, '/')+1:]
	declined := errors.New("declined")
	asked := ""
	if _, err := s.Delete(ctx, id[:8], func(arn string) error { asked = arn; return declined }); err != declined || asked != a {
		t.Fatalf("declined: %v, asked about %q", err, asked)
	}
	if _, err := s.Describe(ctx, id); err != nil {
		t.Fatalf("after declining: %v", err)
	}
	if d, err := s.Delete(ctx, id[:8], func(string) error { return nil }); err != nil || d.Arn != a || d.StillValid != 0 {
		t.Fatalf("confirmed: %+v, %v", d, err)
	}
	if _, err := s.Describe(ctx, id); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Fatalf("after the delete: %v", err)
	}
}

// TestCheckFailedDomainAgain: a domain FAILED for its CAA records is
// checked again by `endpoint domain check` — VALID once CAA allows
// issuance, recorded — and stays FAILED while CAA still forbids it
// (tester: only removing and adding it recovered it).
func TestCheckFailedDomainAgain(t *testing.T) {
	dns := validationtest.StartDNS(t)
	now := func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) }
	core := coretest.New(t, coretest.Config{Now: now, Actor: testActor})
	s := New(core, Settings{Listen: "127.0.0.1:8443", Zone: "zone.test", Resolvers: []string{dns.Addr}, CAAIdentities: []string{"certctl.local"}})
	ctx := context.Background()
	a, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := s.AddDomain(ctx, a, "caa.test", false)
	if err != nil {
		t.Fatal(err)
	}
	cname := dv.ResourceRecord.Name + " 60 IN CNAME " + dv.ResourceRecord.Value
	dns.Add(t, cname, `caa.test. 60 IN CAA 0 issue "other.ca"`)
	if c, err := s.CheckDomain(ctx, a, "caa.test"); err != nil || c.Domain.Status != acmestate.DomainFailed {
		t.Fatalf("CAA forbidding: %+v, %v", c, err)
	}
	if c, err := s.CheckDomain(ctx, a, "caa.test"); err != nil || c.Domain.Status != acmestate.DomainFailed || len(c.Notes) != 1 {
		t.Fatalf("CAA still forbidding: %+v, %v", c, err)
	}
	dns.Clear()
	dns.Add(t, cname, `caa.test. 60 IN CAA 0 issue "certctl.local"`)
	if c, err := s.CheckDomain(ctx, a, "caa.test"); err != nil || c.Domain.Status != acmestate.DomainValid {
		t.Fatalf("CAA allowing now: %+v, %v", c, err)
	}
}
