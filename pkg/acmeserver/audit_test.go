package acmeserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// TestChangesAreAudited: every change an ACME client makes is one audit
// record made by its account on this host, with the endpoint, the account
// or order and the certificate as resources; refusals are FAILURE records
// with the ACME error type; no record holds the EAB MAC key or anything of
// a JWS (the CSR, signatures), and the chain verifies.
func TestChangesAreAudited(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	firstKey := newKey(t)
	c := f.client(firstKey)
	kid, mac := f.eab(false, nil)
	acct, err := c.Register(ctx, &acme.Account{Contact: []string{"mailto:ops@lab.test"},
		ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS)
	if err != nil {
		t.Fatal(err)
	}
	acctID := acct.URI[strings.LastIndexByte(acct.URI, '/')+1:]
	if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("evil.test")); !isProblem(err, errRejectedIdentifier) {
		t.Fatalf("order of a name not pre-approved: %v", err)
	}
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	orderID := o.URI[strings.LastIndexByte(o.URI, '/')+1:]
	csr := csrFor(t, newKey(t), "www.lab.test")
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		t.Fatal(err)
	}
	// An unsupported reason (7 is no reason of RFC 5280) is refused on
	// a rule: recorded too (tester: it left no record).
	if err := c.RevokeCert(ctx, nil, ders[0], acme.CRLReasonCode(7)); !isProblem(err, errBadRevocationReason) {
		t.Fatalf("reason 7: %v", err)
	}
	if err := c.RevokeCert(ctx, nil, ders[0], acme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateReg(ctx, &acme.Account{Contact: []string{"mailto:pki@lab.test"}}); err != nil {
		t.Fatal(err)
	}
	rolledTo := newKey(t)
	if err := c.AccountKeyRollover(ctx, rolledTo); err != nil {
		t.Fatal(err)
	}
	oldTP, err := acme.JWKThumbprint(firstKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	newTP, err := acme.JWKThumbprint(rolledTo.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeactivateReg(ctx); err != nil {
		t.Fatal(err)
	}

	var certID, caID, serial string
	var recs []*audit.Record
	var rows []localstore.AuditRow
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Origins: []string{"ACME"}})
		if err != nil {
			return err
		}
		if len(certs) != 1 {
			t.Fatalf("%d ACME certificates", len(certs))
		}
		certID, caID, serial = certs[0].ID, certs[0].CertificateAuthorityID, certs[0].Serial
		if recs, err = audit.List(tx, audit.Filter{}, 0, 0); err != nil {
			return err
		}
		if rows, err = tx.ListAudit(0, 1000); err != nil {
			return err
		}
		sealer, err := f.v.Sealer()
		if err != nil {
			return err
		}
		_, p, err := audit.Verify(tx, sealer.AuditKey())
		if err != nil || p != nil {
			t.Errorf("audit verify: %v, %v", p, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	epARN := f.names.EndpointARN(f.ep.ID)
	acctARN := acmestate.AccountARN(f.names, f.ep.ID, acctID)
	orderARN := acmestate.OrderARN(f.names, f.ep.ID, orderID)
	certARN := f.names.CertificateARN(certID)
	// The built-in public-style CA the order was signed by was made on
	// first use, by the finalize: its record names it.
	caARN := f.names.CAARN(caID)
	type want struct {
		name, outcome string
		resources     []string
		params        map[string]any
	}
	wants := []want{
		{"NewAccount", audit.OutcomeSuccess, []string{epARN, acctARN}, map[string]any{"ExternalAccountBindingKeyId": kid}},
		{"NewOrder", audit.OutcomeFailure, []string{epARN}, map[string]any{"Identifiers": []any{"evil.test"}}},
		{"NewOrder", audit.OutcomeSuccess, []string{epARN, orderARN}, map[string]any{"Identifiers": []any{"www.lab.test"}}},
		{"FinalizeOrder", audit.OutcomeSuccess, []string{epARN, orderARN, certARN, caARN}, map[string]any{"KeyAlgorithm": "EC_prime256v1", "Serial": serial, "Version": 1.0}},
		{"RevokeCertificate", audit.OutcomeFailure, []string{epARN}, map[string]any{"RevocationReasonCode": 7.0, "Serial": serial}},
		{"RevokeCertificate", audit.OutcomeSuccess, []string{epARN, certARN}, map[string]any{"RevocationReason": "KEY_COMPROMISE"}},
		{"UpdateAccount", audit.OutcomeSuccess, []string{epARN, acctARN}, map[string]any{"Contact": []any{"mailto:pki@lab.test"}}},
		{"KeyChange", audit.OutcomeSuccess, []string{epARN, acctARN}, map[string]any{"OldKeyThumbprint": oldTP, "NewKeyThumbprint": newTP}},
		{"DeactivateAccount", audit.OutcomeSuccess, []string{epARN, acctARN}, map[string]any{"Status": "deactivated"}},
	}
	if len(recs) != len(wants) {
		for _, r := range recs {
			t.Logf("%s %s %v", r.EventName, r.Outcome, r.Resources)
		}
		t.Fatalf("%d audit records, want %d", len(recs), len(wants))
	}
	host := service.Hostname()
	for i, w := range wants {
		r := recs[i]
		if r.EventName != w.name || r.Outcome != w.outcome {
			t.Errorf("record %d: %s %s, want %s %s", i, r.EventName, r.Outcome, w.name, w.outcome)
			continue
		}
		if r.Actor != (audit.Actor{Type: audit.ActorACMEAccount, ID: acctID, Host: host}) {
			t.Errorf("%s: actor %+v", w.name, r.Actor)
		}
		if !slices.Equal(r.Resources, w.resources) {
			t.Errorf("%s: resources %v, want %v", w.name, r.Resources, w.resources)
		}
		for k, v := range w.params {
			if got := r.RequestParameters[k]; !equalJSON(got, v) {
				t.Errorf("%s: %s = %#v, want %#v", w.name, k, got, v)
			}
		}
	}
	if recs[1].ErrorCode != "rejectedIdentifier" {
		t.Errorf("refused order: ErrorCode %q", recs[1].ErrorCode)
	}

	secrets := map[string][]byte{
		"MAC key (base64url)": []byte(base64.RawURLEncoding.EncodeToString(mac)),
		"MAC key (base64)":    []byte(base64.StdEncoding.EncodeToString(mac)),
		"CSR":                 []byte(base64.RawURLEncoding.EncodeToString(csr)),
		"JWS protected":       []byte(`"protected"`),
		"JWS signature":       []byte(`"signature"`),
	}
	for _, row := range rows {
		for what, s := range secrets {
			if bytes.Contains(row.Data, s) {
				t.Errorf("audit record %d holds the %s: %s", row.Seq, what, row.Data)
			}
		}
	}
}

func equalJSON(got, want any) bool {
	switch w := want.(type) {
	case []any:
		g, ok := got.([]any)
		return ok && slices.Equal(g, w)
	}
	return got == want
}

// TestRefusalsRecordWhatWasRefused: a FAILURE names the value refused — the
// CSR's key algorithm of a badCSR, the profile of an invalidProfile
// (tester: the records held neither).
func TestRefusalsRecordWhatWasRefused(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired, "EC_prime256v1")
	key := newKey(t)
	kid := f.rawAccount(key)
	resp, body := f.orderWith(key, kid, map[string]any{"profile": "longlived"}, "p.lab.test")
	wantProblem(t, "unknown profile", resp, body, errInvalidProfile, http.StatusBadRequest)
	_, o := f.rawOrder(key, kid, "lab.test")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := json.Marshal(map[string]string{"csr": b64(csrFor(t, p384, "lab.test"))})
	resp, body = f.signed(o.Finalize, key, kid, csr, nil)
	wantProblem(t, "P-384 CSR on a P-256 endpoint", resp, body, errBadCSR, http.StatusBadRequest)
	want := map[string]map[string]any{"NewOrder": {"Profile": "longlived"}, "FinalizeOrder": {"KeyAlgorithm": "EC_secp384r1"}}
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		recs, err := audit.List(tx, audit.Filter{}, 0, 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Outcome != audit.OutcomeFailure {
				continue
			}
			for k, v := range want[r.EventName] {
				if r.RequestParameters[k] == v {
					delete(want, r.EventName)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) > 0 {
		t.Errorf("no FAILURE record with %v", want)
	}
}
