package acmeserver

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestRevokeAfterTheRecordIsDeleted: a certificate an ACME client holds,
// its inventory record deleted (certctl delete), is still revoked by a
// request signed with its key — its CA still lists the serial, and the
// CRL must (RFC 8555 7.6; tester: 404 "not issued by this endpoint", and
// no other way for a certificate of the built-in hierarchy to reach its
// CRL). The account that obtained it is not known any more, and is
// refused; a second revocation is alreadyRevoked.
func TestRevokeAfterTheRecordIsDeleted(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("gone.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	certKey := newKey(t)
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, "gone.lab.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		t.Fatal(err)
	}
	serial := x509util.FormatSerial(leaf.SerialNumber)
	var rec *localstore.Certificate
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginACME}})
		if len(certs) == 1 {
			rec = certs[0]
		}
		return err
	}); err != nil || rec == nil {
		t.Fatalf("the ACME certificate's record: %v", err)
	}
	if _, err := certificates.New(f.core, certificates.Settings{CertificateValidity: 24 * time.Hour}).Delete(ctx, f.names.CertificateARN(rec.ID), true, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, ders[0], acme.CRLReasonSuperseded); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("revocation by the account, the record deleted: %v; want unauthorized, saying the record was deleted", err)
	}
	if err := f.client(certKey).RevokeCert(ctx, certKey, ders[0], acme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revocation by the certificate key, the record deleted: %v", err)
	}
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		s, err := tx.GetSerial(rec.CertificateAuthorityID, serial)
		if err == nil && (s.RevokedAt.IsZero() || s.Reason != 1) {
			t.Errorf("serial %s: revoked %v, reason %d; want revoked for keyCompromise", serial, s.RevokedAt, s.Reason)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// x/crypto/acme takes alreadyRevoked for a success: the raw answer.
	resp, body := f.signed(f.url("/revoke-cert"), certKey, "", []byte(`{"certificate":"`+b64(ders[0])+`"}`), nil)
	if pt := problemType(t, resp, body); pt != errAlreadyRevoked {
		t.Errorf("second revocation: %s; want alreadyRevoked", pt)
	}
}
