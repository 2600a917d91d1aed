package endpoints

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
)

// serve runs the service's ACME server on a loopback port over TLS and
// returns a client factory for the directory of endpoint id.
func serve(t *testing.T, s *Service, id string) func() *acme.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cert, err := s.ServingCertificate(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := s.Server(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener.Close()
	ts.Listener = ln
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	last, err := x509.ParseCertificate(cert.Certificate[len(cert.Certificate)-1])
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(last)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Time: s.core.Now}}}
	return func() *acme.Client {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &acme.Client{Key: k, DirectoryURL: srv.BaseURL() + "/" + id + "/directory", HTTPClient: hc}
	}
}

func register(t *testing.T, c *acme.Client, eab acmestate.EABView) string {
	t.Helper()
	mac, err := base64.RawURLEncoding.DecodeString(eab.MacKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Register(context.Background(), &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: eab.KeyID, Key: mac}}, acme.AcceptTOS)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return a.URI[strings.LastIndexByte(a.URI, '/')+1:]
}

func isUnauthorized(err error) bool {
	var ae *acme.Error
	return errors.As(err, &ae) && ae.ProblemType == "urn:ietf:params:acme:error:unauthorized" && ae.StatusCode == http.StatusForbidden
}

// TestAccountsCutOff: an account deactivated by the administrator, and the
// accounts of a credential revoked with deactivateAccounts, are refused
// (unauthorized) on their next request; the list shows them deactivated;
// each change is recorded with the accounts' ARNs.
func TestAccountsCutOff(t *testing.T) {
	s, v := newService(t)
	ctx := context.Background()
	arn, _, err := s.Create(ctx, CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	id := arn[len(arn)-36:]
	if _, err := s.AddDomain(ctx, id, "lab.test", true); err != nil {
		t.Fatal(err)
	}
	single, err := s.CreateEAB(ctx, id, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := s.CreateEAB(ctx, id, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	client := serve(t, s, id)
	ca, cb, cc := client(), client(), client()
	ida, idb, idc := register(t, ca, single), register(t, cb, shared), register(t, cc, shared)
	for _, c := range []*acme.Client{ca, cb} {
		if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test")); err != nil {
			t.Fatalf("order before: %v", err)
		}
	}
	list, err := s.ListAccounts(ctx, id[:8])
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	for _, a := range list {
		if a.Status != acmestate.AccountValid {
			t.Errorf("account %s is %s before any deactivation", a.AccountID, a.Status)
		}
	}

	// The administrator deactivates A (by a prefix of its ID).
	got, err := s.DeactivateAccount(ctx, id, ida[:8])
	if err != nil || got.AccountID != ida || got.Status != acmestate.AccountDeactivated || got.EabKeyID != single.KeyID || got.Orders != 1 {
		t.Fatalf("deactivate: %+v, %v", got, err)
	}
	if _, err := ca.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test")); !isUnauthorized(err) {
		t.Errorf("order of a deactivated account: %v, want unauthorized", err)
	}
	if _, err := ca.GetReg(ctx, ""); !isUnauthorized(err) {
		t.Errorf("reading a deactivated account: %v, want unauthorized", err)
	}
	if _, err := cb.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test")); err != nil {
		t.Errorf("another account is cut off too: %v", err)
	}

	// Revoking the shared credential with its accounts cuts off B and C.
	if r, err := s.RevokeEAB(ctx, id, shared.KeyID, true); err != nil || r.Status != acmestate.EABRevoked {
		t.Fatalf("revoke --deactivate-accounts: %+v, %v", r, err)
	}
	for _, c := range []*acme.Client{cb, cc} {
		if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test")); !isUnauthorized(err) {
			t.Errorf("order of an account of the revoked credential: %v, want unauthorized", err)
		}
	}
	list, err = s.ListAccounts(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]acmestate.AccountView{}
	for _, a := range list {
		byID[a.AccountID] = a
	}
	for _, want := range []struct {
		id, eab string
		orders  int
	}{{ida, single.KeyID, 1}, {idb, shared.KeyID, 2}, {idc, shared.KeyID, 0}} {
		a := byID[want.id]
		if a.Status != acmestate.AccountDeactivated || a.EabKeyID != want.eab || a.Orders != want.orders || a.CreatedAt == nil {
			t.Errorf("account %s: %+v, want DEACTIVATED, EAB %s, %d orders", want.id, a, want.eab, want.orders)
		}
	}
	// Refusals.
	if _, err := s.DeactivateAccount(ctx, id, "ffffffffff"); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := s.DeactivateAccount(ctx, id, "ab"); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("short prefix: %v", err)
	}

	recs, _ := auditLog(t, v)
	acctARN := func(a string) string { return acmestate.AccountARN(s.core.Names, id, a) }
	var deact, revoke []*audit.Record
	for _, r := range recs {
		switch r.EventName {
		case "DeactivateAcmeAccount":
			deact = append(deact, r)
		case "RevokeExternalAccountBinding":
			revoke = append(revoke, r)
		}
	}
	if len(deact) != 3 || deact[0].Outcome != audit.OutcomeSuccess || !slices.Equal(deact[0].Resources, []string{arn, acctARN(ida)}) ||
		deact[0].RequestParameters["AccountId"] != ida || deact[1].Outcome != audit.OutcomeFailure {
		t.Errorf("DeactivateAcmeAccount records: %+v", deact)
	}
	if len(revoke) != 1 || revoke[0].RequestParameters["DeactivateAccounts"] != true ||
		!slices.Contains(revoke[0].Resources, acctARN(idb)) || !slices.Contains(revoke[0].Resources, acctARN(idc)) ||
		slices.Contains(revoke[0].Resources, acctARN(ida)) {
		t.Errorf("RevokeExternalAccountBinding record: %+v", revoke)
	}
}
