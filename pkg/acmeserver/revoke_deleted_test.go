package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestRevokeAfterTheRecordIsDeleted: a certificate an ACME client holds,
// its inventory record deleted (certctl delete), is still revoked by a
// request signed with its key, or by the account that obtained it — its
// CA still lists the serial, and the CRL must (RFC 8555 7.6; tester: 404
// "not issued by this endpoint", and no other way for a certificate of
// the built-in hierarchy to reach its CRL); a second revocation is
// alreadyRevoked; another account is refused.
func TestRevokeAfterTheRecordIsDeleted(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, a := f.register(newKey(t))
	acctID := a.URI[strings.LastIndexByte(a.URI, '/')+1:]
	var deleted string // the ARN of the last certificate issue deleted
	issue := func(name string) ([]byte, *ecdsa.PrivateKey, string) {
		t.Helper()
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
		if err != nil {
			t.Fatal(err)
		}
		certKey := newKey(t)
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, name), true)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(ders[0])
		if err != nil {
			t.Fatal(err)
		}
		var caID, id string
		if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
			certs, err := tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginACME}})
			for _, c := range certs {
				if c.DomainName == name {
					caID, id = c.CertificateAuthorityID, c.ID
				}
			}
			return err
		}); err != nil || id == "" {
			t.Fatalf("the record of %s: %v", name, err)
		}
		if _, err := certificates.New(f.core, certificates.Settings{CertificateValidity: 24 * time.Hour}).Delete(ctx, f.names.CertificateARN(id), true, nil); err != nil {
			t.Fatal(err)
		}
		f.wantRevoked(caID, leaf, false)
		deleted = f.names.CertificateARN(id)
		return ders[0], certKey, caID
	}
	// By its key: keyCompromise, and then alreadyRevoked.
	der, certKey, caID := issue("gone.lab.test")
	stranger, _ := f.register(newKey(t))
	if err := stranger.RevokeCert(ctx, nil, der, acme.CRLReasonSuperseded); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("revocation by another account, the record deleted: %v; want unauthorized, saying the record was deleted", err)
	}
	if err := f.client(certKey).RevokeCert(ctx, certKey, der, acme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revocation by the certificate key, the record deleted: %v", err)
	}
	leaf, _ := x509.ParseCertificate(der)
	f.wantRevoked(caID, leaf, true)
	// The audit record names the CA and the deleted certificate (review:
	// only the CA), tying the revocation to the deletion.
	if rec := f.lastAudit("RevokeCertificate"); !slices.Contains(rec.Resources, deleted) || !slices.Contains(rec.Resources, f.names.CAARN(caID)) {
		t.Errorf("the revocation's audit record names %v; want %s and the CA", rec.Resources, deleted)
	}
	// x/crypto/acme takes alreadyRevoked for a success: the raw answer.
	resp, body := f.signed(f.url("/revoke-cert"), certKey, "", []byte(`{"certificate":"`+b64(der)+`"}`), nil)
	if pt := problemType(t, resp, body); pt != errAlreadyRevoked {
		t.Errorf("second revocation: %s; want alreadyRevoked", pt)
	}
	// By the account that obtained it (review: refused, though its
	// orders named the record) — also once its orders are swept and the
	// endpoint issues from another CA (review: obtainedBy read the
	// orders, issuesFrom the endpoint's CA of now).
	der, _, caID = issue("gone2.lab.test")
	f.vaultCA(authority.CreateRequest{Validity: 5 * 365 * 24 * time.Hour}, true)
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		orders, err := acmestate.ListOrders(tx, acctID)
		for _, o := range orders {
			if err := tx.DeleteObject(acmestate.KindOrder, o.ID); err != nil {
				return err
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, der, acme.CRLReasonSuperseded); err != nil {
		t.Fatalf("revocation by the account that obtained it, the record deleted: %v", err)
	}
	leaf, _ = x509.ParseCertificate(der)
	f.wantRevoked(caID, leaf, true)
	// A serial signed before serial records named who asked (schema 5):
	// its key still revokes it, its account cannot be told (review:
	// 404 to both).
	der, certKey, caID = issue("legacy.lab.test")
	leaf, _ = x509.ParseCertificate(der)
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		s, err := tx.GetSerial(caID, x509util.FormatSerial(leaf.SerialNumber))
		if err != nil {
			return err
		}
		s.Requester = ""
		return tx.RecordIssued(s)
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, der, acme.CRLReasonSuperseded); err == nil {
		t.Error("a serial of no known account revoked by an account")
	}
	if err := f.client(certKey).RevokeCert(ctx, certKey, der, acme.CRLReasonSuperseded); err != nil {
		t.Fatalf("revocation by the certificate key of a serial of no known account: %v", err)
	}
	f.wantRevoked(caID, leaf, true)
}

// TestRevokeOfWhatNoEndpointIssued: revoke-cert revokes no serial that
// was never an inventory certificate's (ca issue, from the very CA the
// endpoint issues from), nor one of a CA the endpoint does not issue
// from, whatever signs the request (review: any certificate of any vault
// CA was revoked through any endpoint by its key, once the path for
// deleted records was added).
func TestRevokeOfWhatNoEndpointIssued(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	own := f.vaultCA(authority.CreateRequest{Validity: 5 * 365 * 24 * time.Hour}, true)
	other := f.vaultCA(authority.CreateRequest{Validity: 5 * 365 * 24 * time.Hour}, false)
	for _, kind := range []string{"ca issue", "a request's deleted record", "another CA's deleted record", "another CA's serial of no requester"} {
		ca, requester := own, "USER:tester@testhost"
		switch kind {
		case "another CA's deleted record":
			ca = other
		case "another CA's serial of no requester": // signed before schema 5
			ca, requester = other, ""
		}
		certKey := newKey(t)
		var leaf *x509.Certificate
		if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			var iss *authority.Issued
			var err error
			if kind == "ca issue" {
				iss, err = f.svc.IssueCSR(tx, ca, authority.CSRParams{CSR: csrFor(t, certKey, "svc.other.test"), Template: "EndEntityServerAuthCertificate",
					Validity: timeutil.Validity{Duration: 30 * 24 * time.Hour}})
			} else {
				// Issued to an inventory certificate since deleted, by
				// no ACME account of this endpoint: certctl request, from
				// the endpoint's own CA, or another's (review: revoked
				// once the record was gone).
				iss, err = f.svc.IssueLeaf(tx, ca, authority.LeafParams{CertID: "0d1e2f3a-0000-4000-8000-000000000000", Names: []string{"svc.other.test"},
					PublicKey: certKey.Public(), Validity: 30 * 24 * time.Hour, Requester: requester})
			}
			if err == nil {
				leaf = iss.Certificate
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		resp, body := f.signed(f.url("/revoke-cert"), certKey, "", []byte(`{"certificate":"`+b64(leaf.Raw)+`","reason":1}`), nil)
		if pt := problemType(t, resp, body); pt != errMalformed || resp.StatusCode != 404 {
			t.Errorf("%s: revoke-cert answered %d %s; want 404 malformed", kind, resp.StatusCode, pt)
		}
		f.wantRevoked(ca.ID, leaf, false)
	}
}

// wantRevoked fails the test unless CA caID's serial of leaf is revoked
// (or not, as revoked says).
func (f *fixture) wantRevoked(caID string, leaf *x509.Certificate, revoked bool) {
	f.t.Helper()
	serial := x509util.FormatSerial(leaf.SerialNumber)
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		s, err := tx.GetSerial(caID, serial)
		if err == nil && s.RevokedAt.IsZero() == revoked {
			f.t.Errorf("serial %s of CA %s: revoked at %v, want revoked %v", serial, caID, s.RevokedAt, revoked)
		}
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestIssuedToAccountOf: a serial's requester names an account of this
// endpoint only when it is an ACME account of it — not a user, not
// another endpoint's account, not an account gone.
func TestIssuedToAccountOf(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	now := time.Now()
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		for _, a := range []*acmestate.Account{{ID: "mine", EndpointID: f.ep.ID, CreatedAt: now, UpdatedAt: now}, {ID: "theirs", EndpointID: "another-endpoint", CreatedAt: now, UpdatedAt: now}} {
			if err := acmestate.PutAccount(tx, a); err != nil {
				return err
			}
		}
		for requester, want := range map[string]string{
			"ACME_ACCOUNT:mine@host1": "mine", "ACME_ACCOUNT:mine": "mine", "ACME_ACCOUNT:theirs@host1": "",
			"ACME_ACCOUNT:gone@host1": "", "USER:mine@host1": "", "": "",
		} {
			got, err := issuedToAccountOf(tx, &localstore.Serial{Requester: requester}, f.ep.ID)
			if err != nil || got != want {
				t.Errorf("requester %q: %q, %v; want %q", requester, got, err, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
