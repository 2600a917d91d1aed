package acmeserver

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/x509util"
)

type revokePayload struct {
	Certificate string `json:"certificate"`
	Reason      *int   `json:"reason"`
}

// revokedSerial is the serial of the certificate a revocation's payload
// names, "" when it names none that parses.
func revokedSerial(payload []byte) string {
	var in revokePayload
	if json.Unmarshal(payload, &in) != nil {
		return ""
	}
	der, err := base64.RawURLEncoding.DecodeString(in.Certificate)
	if err != nil {
		return ""
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return ""
	}
	return x509util.FormatSerial(cert.SerialNumber)
}

// handleRevoke revokes a certificate issued by this endpoint (RFC 8555
// 7.6; RevokeCertificate), signed by the account that obtained it (kid),
// by another account of the endpoint that holds valid authorizations for
// all of its names (see holdsAuthorizations), or by the certificate's own
// key (jwk). The serial is revoked in the issuing CA, so
// the CRL and OCSP responder report it, and the inventory certificate
// becomes REVOKED when the serial is its current version's.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ep, req, ok := s.authenticate(w, r, eitherKey)
	if !ok {
		return
	}
	var in revokePayload
	if p := decodePayload(req, &in); p != nil {
		writeProblem(w, p)
		return
	}
	reason := 0
	if in.Reason != nil {
		reason = *in.Reason
	}
	reasonName := casign.ReasonName(reason)
	der, err := base64.RawURLEncoding.DecodeString(in.Certificate)
	if err != nil {
		writeProblem(w, malformed("certificate is not base64url DER"))
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		writeProblem(w, malformed("certificate does not parse"))
		return
	}
	serial := x509util.FormatSerial(cert.SerialNumber)
	if reasonName == "" || reason == 6 {
		// A refusal on a rule: recorded with the certificate's serial
		// and the reason code asked for (SPEC; tester: lego's --reason 8
		// left no record; review: nor which certificate).
		err := s.change(r.Context(), revoker(req), "RevokeCertificate", func(op *service.Op) error {
			op.Resource(s.endpointARN(ep.ID))
			op.Param("Serial", serial)
			op.Param("RevocationReasonCode", reason)
			return refuse(problem(errBadRevocationReason, http.StatusBadRequest, "unsupported revocation reason"))
		})
		writeProblem(w, s.problemOf(err))
		return
	}
	// Whether another account holds authorizations for every name is read
	// before the change, outside its write transaction: it reads the
	// account's orders, which no revocation should hold the write lock
	// for. An authorization that lapses between the two (its expiry, its
	// account deactivating it) still counts for this request.
	holds := false
	if req.Account != nil {
		if err := s.core.Read(r.Context(), func(tx localstore.Tx) error {
			caID, _, c, err := findIssued(tx, cert, serial)
			if err != nil || caID == "" || (c != nil && mayRevoke(req, c, cert)) {
				return err
			}
			holds, err = holdsAuthorizations(tx, req.Account, ep.ID, cert, s.core.Now())
			return err
		}); err != nil {
			writeProblem(w, s.problemOf(err))
			return
		}
	}
	err = s.change(r.Context(), revoker(req), "RevokeCertificate", func(op *service.Op) error {
		op.Resource(s.endpointARN(ep.ID))
		op.Param("Serial", serial)
		op.Param("RevocationReason", reasonName)
		caID, rec, c, err := findIssued(op.Tx, cert, serial)
		if err != nil {
			return err
		}
		if c == nil && rec != nil {
			// Its record deleted from the inventory (certctl delete): the
			// CA still lists the serial, with the ACME account it was
			// issued to; where that is an account of this endpoint, the
			// certificate's key, that account or one holding
			// authorizations for every name still revokes it (RFC 8555
			// 7.6; tester: "not issued by this endpoint", and no other
			// way for a certificate of the built-in hierarchy to reach
			// its CRL). A serial issued otherwise (ca issue, request,
			// another endpoint) is none of this endpoint's (review).
			acct, err := issuedToAccountOf(op.Tx, rec, ep.ID)
			if err != nil {
				return err
			}
			if acct != "" {
				return revokeSerialOnly(op, req, cert, caID, rec, reason, acct, holds, s.deletedResources(caID, rec)...)
			}
			// A serial signed before its record named who asked for it
			// (schema 5) says nothing of its account: the certificate's
			// own key still revokes it, where its CA is one this
			// endpoint issues from (review: such certificates had lost
			// every way onto their CRL).
			legacy, err := legacySerialOf(op.Tx, rec, caID, ep)
			if err != nil {
				return err
			}
			if legacy && mayRevoke(req, nil, cert) {
				return revokeSerialOnly(op, req, cert, caID, rec, reason, "", false, s.deletedResources(caID, rec)...)
			}
		}
		if c == nil || c.KeyPairOrigin != inventory.OriginACME || c.AcmeEndpointID != ep.ID {
			return refuse(problem(errMalformed, http.StatusNotFound, "certificate was not issued by this endpoint"))
		}
		op.Resource(s.core.Names.CertificateARN(c.ID))
		if !mayRevoke(req, c, cert) {
			if !holds {
				return refuse(unauthorized("neither the issuing account, nor an account that proved every name of the certificate by a challenge (the authorization of a pre-approved name, which any account of the endpoint gets, does not count), nor the certificate key signed this request"))
			}
		}
		if err := checkNotRevoked(rec); err != nil {
			return err
		}
		// Only a request signed by the certificate's own key proves it
		// compromised: an account's keyCompromise revokes, and blocks
		// nothing (see inventory.RevokeSerialVia).
		keyProven := req.Account == nil
		if c.Serial != serial {
			// An earlier version of the certificate: only its serial,
			// told by its event.
			if err := inventory.RevokeSerialVia(op.Tx, caID, serial, op.Now, reason, keyProven); err != nil {
				return err
			}
			return op.RevokedEarlier(c, caID, serial, reasonName)
		}
		// The same steps as `certctl revoke` (the certificates service):
		// the rules that allow it are ACME's own (RFC 8555 7.6).
		return op.Revoke(c, reasonName, reason, keyProven)
	})
	if err != nil {
		writeProblem(w, s.problemOf(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// revoker is who a revocation is recorded as made by: the account that
// signed it (kid), else the holder of the certificate's key, named by the
// key's thumbprint ("jwk:<thumbprint>").
func revoker(req *request) string {
	if req.Account != nil {
		return req.Account.ID
	}
	tp, err := thumbprint(req.Key)
	if err != nil {
		return "jwk"
	}
	return keyActor(tp)
}

// keyActor is the actor ID of a request authorised by a key that is no
// account's: "jwk:" and the key's thumbprint tp.
func keyActor(tp string) string { return "jwk:" + tp }

// deletedResources are the resources a revocation of serial rec of CA
// caID, whose certificate's record was deleted, is recorded with: the CA
// and the deleted certificate's ARN, so that the audit log ties the
// revocation to the deletion (review).
func (s *Server) deletedResources(caID string, rec *localstore.Serial) []string {
	return []string{s.core.Names.CAARN(caID), s.core.Names.CertificateARN(rec.CertID)}
}

// revokeSerialOnly revokes serial of CA caID, a certificate whose
// inventory record was deleted (resources: what the audit record names),
// issued to the ACME account acct: asked with the certificate's key, by
// acct, or by an account holding authorizations for every name of it
// (holds).
func revokeSerialOnly(op *service.Op, req *request, cert *x509.Certificate, caID string, rec *localstore.Serial, reason int, acct string, holds bool, resources ...string) error {
	op.Resource(resources...)
	if !mayRevoke(req, &localstore.Certificate{AcmeAccountID: acct}, cert) && !holds {
		return refuse(unauthorized("the certificate's record was deleted from the vault: neither the certificate key, nor the account that obtained it, nor an account that proved every name of the certificate by a challenge signed this request"))
	}
	if err := checkNotRevoked(rec); err != nil {
		return err
	}
	return inventory.RevokeSerialVia(op.Tx, caID, rec.Serial, op.Now, reason, req.Account == nil)
}

// issuedToAccountOf is the ACME account of endpoint epID a serial's
// record names as the one it was issued to (its Requester, the audit
// actor of the finalize: "ACME_ACCOUNT:<id>@<host>"), "" when it names
// none: a serial issued otherwise (request, ca issue, a renewal), to
// another endpoint's account, or to an account since deleted with its
// endpoint. Unlike an order, which is swept days after it expires, the
// record lasts as long as the serial (review).
func issuedToAccountOf(tx localstore.Tx, rec *localstore.Serial, epID string) (string, error) {
	id, ok := strings.CutPrefix(rec.Requester, audit.ActorACMEAccount+":")
	if !ok {
		return "", nil
	}
	id, _, _ = strings.Cut(id, "@") // an account ID holds no @; a host name may
	a, err := acmestate.GetAccount(tx, id)
	if errors.Is(err, localstore.ErrNotFound) {
		return "", nil
	}
	if err != nil || a.EndpointID != epID {
		return "", err
	}
	return a.ID, nil
}

// legacySerialOf reports whether rec, a serial of CA caID issued to an
// inventory certificate, was signed before serial records named who asked
// for them (no Requester) by a CA endpoint ep issues from: its own vault
// CA, or the built-in public-style hierarchy's for an endpoint without
// one (issuingCA).
func legacySerialOf(tx localstore.Tx, rec *localstore.Serial, caID string, ep *acmestate.Endpoint) (bool, error) {
	if rec.Requester != "" {
		return false, nil
	}
	if ep.CertificateAuthorityID != "" {
		return caID == ep.CertificateAuthorityID, nil
	}
	ca, err := authority.Get(tx, caID)
	if err != nil {
		return false, err
	}
	return ca.PublicStyle(), nil
}

// checkNotRevoked refuses (alreadyRevoked) a serial, as its CA's record
// (findIssued's, read in the change) says, when the CA revoked it already.
func checkNotRevoked(rec *localstore.Serial) error {
	if !rec.RevokedAt.IsZero() {
		return refuse(problem(errAlreadyRevoked, http.StatusBadRequest, "certificate is already revoked"))
	}
	return nil
}

// mayRevoke: the account that obtained c, or the certificate's own key
// (the key alone when c is nil).
func mayRevoke(req *request, c *localstore.Certificate, cert *x509.Certificate) bool {
	if req.Account != nil {
		return c != nil && req.Account.ID == c.AcmeAccountID
	}
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(req.Key.Key)
}

// holdsAuthorizations reports whether acct holds, at endpoint epID, a valid
// and unexpired authorization proved by a challenge for every name of
// cert — the other account RFC 8555 7.6 says a server MUST consider
// authorised to revoke it. A pre-approved authorization proves nothing:
// any account of a PRE_APPROVED endpoint gets one by ordering the name. A
// wildcard name needs a wildcard authorization of its base; a name, an
// authorization of it, wildcard or not (both are proved on the name
// itself). A certificate with an identifier of another kind (an IP
// address, an email address, a URI), or with no name, is held by none.
// It reads the account's orders: a revocation by another account is
// rare, and no index of authorizations by account and name is kept.
func holdsAuthorizations(tx localstore.Tx, acct *acmestate.Account, epID string, cert *x509.Certificate, now time.Time) (bool, error) {
	if acct == nil || len(cert.DNSNames) == 0 || len(cert.IPAddresses)+len(cert.EmailAddresses)+len(cert.URIs) > 0 {
		return false, nil
	}
	orders, err := acmestate.ListOrders(tx, acct.ID)
	if err != nil {
		return false, err
	}
	held := map[string]bool{} // name, or "*." and a base for a wildcard authorization
	for _, o := range orders {
		if o.EndpointID != epID {
			continue
		}
		for _, id := range o.Authorizations {
			a, err := acmestate.GetAuthz(tx, id)
			if errors.Is(err, localstore.ErrNotFound) {
				continue // swept
			}
			if err != nil {
				return false, err
			}
			if a.Status != acmestate.AcmeValid || !now.Before(a.Expires) || a.AccountID != acct.ID || a.EndpointID != epID || a.Identifier.Type != "dns" ||
				!a.ProvedByChallenge() {
				continue
			}
			held[a.Identifier.Value] = true
			if a.Wildcard {
				held["*."+a.Identifier.Value] = true
			}
		}
	}
	for _, n := range cert.DNSNames {
		if !held[strings.ToLower(n)] {
			return false, nil
		}
	}
	return true, nil
}

// findIssued finds the vault CA that signed cert, the CA's record of the
// serial when it was issued to an inventory certificate (nil otherwise,
// as for ca issue) and that certificate's record (nil when none, or
// deleted).
func findIssued(tx localstore.Tx, cert *x509.Certificate, serial string) (caID string, rec *localstore.Serial, c *localstore.Certificate, err error) {
	cas, err := authority.List(tx)
	if err != nil {
		return "", nil, nil, err
	}
	for _, r := range cas {
		if r.CertificatePEM == "" {
			continue
		}
		caCert, err := r.Certificate()
		if err != nil || cert.CheckSignatureFrom(caCert) != nil {
			continue
		}
		rec, err := tx.GetSerial(r.ID, serial)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", nil, nil, err
		}
		if rec.CertID == "" {
			return r.ID, nil, nil, nil
		}
		c, err := tx.GetCertificate(rec.CertID)
		if errors.Is(err, localstore.ErrNotFound) {
			return r.ID, rec, nil, nil
		}
		return r.ID, rec, c, err
	}
	return "", nil, nil, nil
}
