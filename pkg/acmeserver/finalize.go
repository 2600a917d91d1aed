package acmeserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

type finalizePayload struct {
	CSR string `json:"csr"`
}

// checkedCSR is a CSR that passed the order's and endpoint's rules.
type checkedCSR struct {
	PublicKey    crypto.PublicKey
	KeyAlgorithm string
	// CommonName is the CSR's CN, normalised ("" when it has none).
	CommonName string
}

// parseCSR decodes a base64url DER CSR, parses it and checks its
// signature — the part of the checks that needs neither the order nor the
// endpoint, which finalize
// does before its transaction (a signature check is the costliest step,
// and the write transaction is what concurrent finalizes queue for).
func parseCSR(b64 string) (*x509.CertificateRequest, *Problem) {
	der, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(der) == 0 {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr is not base64url DER")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr does not parse")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr signature does not verify")
	}
	return csr, nil
}

// checkParsedCSR checks a CSR parseCSR returned: that its names (CN and
// DNS SANs) are exactly the order's, that it asks for nothing else, and
// that its key algorithm is allowed by the endpoint and differs from the
// account key.
func checkParsedCSR(csr *x509.CertificateRequest, order *acmestate.Order, ep *acmestate.Endpoint, acctKey crypto.PublicKey) (*checkedCSR, *Problem) {
	if len(csr.IPAddresses) > 0 || len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr may carry DNS names only")
	}
	// Two CNs (Go keeps the last in Subject.CommonName, so the first
	// was never compared with the order's names) or an empty one: the
	// subject rule of ca issue, with its reason.
	cn, err := casign.SubjectCommonName(csr.Subject)
	if err != nil {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr "+err.Error())
	}
	var names []string
	if cn != "" {
		names = append(names, dnsname.Normalize(cn))
	}
	for _, n := range csr.DNSNames {
		names = append(names, dnsname.Normalize(n))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if !slices.Equal(names, sortedNames(order.Identifiers)) {
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr names differ from the order's identifiers")
	}
	alg, err := x509util.KeyAlgorithmOf(csr.PublicKey)
	if err != nil || !ep.AllowsKeyAlgorithm(alg) {
		// badCSR, not badPublicKey: RFC 8555 7.4 names badCSR for a CSR the
		// server will not sign; badPublicKey is about the JWS key.
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr key algorithm is not allowed by this endpoint (allowed: "+joinComma(ep.AllowedKeyAlgorithms)+")")
	}
	if rk, ok := csr.PublicKey.(*rsa.PublicKey); ok && rk.E != rsaExponent {
		// The account key's rule holds for the certificate key too, as
		// in Boulder's key policy (review: a certificate with e=3 was
		// issued whose key could not then revoke it).
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr RSA key must have the public exponent 65537")
	}
	if casign.AsksMustStaple(csr) {
		// Refused, not dropped (tester: the certificate came without
		// it, and nothing said so), as Let's Encrypt refuses it since
		// 2025 and ca issue refuses it outside CSRPassthrough.
		return nil, problem(errBadCSR, http.StatusBadRequest, "csr asks for the TLS Feature extension (OCSP must-staple), which this server does not issue: request the certificate without it")
	}
	if k, ok := csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(acctKey) {
		return nil, problem(errBadCSR, http.StatusBadRequest, "the certificate key must differ from the account key")
	}
	return &checkedCSR{PublicKey: csr.PublicKey, KeyAlgorithm: alg, CommonName: dnsname.Normalize(cn)}, nil
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, v := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}

// handleFinalize issues the certificate of a ready order synchronously
// (FinalizeOrder). A CSR the rules refuse, or an issuance that fails, is
// counted as a failed issuance of the endpoint.
func (s *Server) handleFinalize(w http.ResponseWriter, r *http.Request) {
	// The nonce is redeemed in the change's transaction.
	// The order is read with the endpoint and account; its
	// authorizations are checked in the change's transaction.
	var pre *readOrder
	ep, req, ok := s.authenticateWith(w, r, needKID, true, s.readOrderAhead(r, &pre, false, nil))
	if !ok {
		return
	}
	if req.PostAsGet {
		s.fail(w, r, req, malformed("finalize needs a csr"))
		return
	}
	var in finalizePayload
	if p := decodePayload(req, &in); p != nil {
		s.fail(w, r, req, p)
		return
	}
	order, p := s.loadOrderFrom(r, ep, req, pre, false, nil)
	if p != nil {
		// No order of the account's by that URL: refused, and recorded.
		s.refused(w, r, req, "FinalizeOrder", p, s.endpointARN(ep.ID))
		return
	}
	// Parsed and its signature checked outside the transaction; its
	// problem, if any, is reported where checkParsedCSR's would be, after the
	// order's own.
	parsed, csrProblem := parseCSR(in.CSR)
	counted := false    // the failure is one the counters count
	var lapsed *Problem // why the order became invalid
	err := s.change(r.Context(), req.Account.ID, "FinalizeOrder", func(op *service.Op) error {
		counted, lapsed = false, nil
		if err := redeemIn(op.Tx, req); err != nil {
			return err
		}
		op.Resource(s.endpointARN(ep.ID), s.orderARN(order))
		o, err := acmestate.GetOrder(op.Tx, order.ID)
		if err != nil {
			return err
		}
		s.expireOrder(o)
		if o.Status != acmestate.AcmeReady {
			return refuse(problem(errOrderNotReady, http.StatusForbidden, "order is "+o.Status+", not ready"))
		}
		counted = true
		// RFC 8555 7.1.6: re-checked here, in the transaction that would
		// issue, so that neither a deactivated authorization nor a
		// domain removed since the order was made gets a certificate.
		authzs, err := orderAuthzs(op.Tx, o)
		if err != nil {
			return err
		}
		if lapsed = s.authzsLapsed(o, authzs); lapsed != nil {
			return refuse(notReady(lapsed))
		}
		if lapsed, err = approveOrderOf(op.Tx, ep, o, authzs); err != nil {
			return err
		}
		if lapsed != nil {
			return refuse(lapsed)
		}
		if csrProblem != nil {
			return refuse(csrProblem)
		}
		if parsed != nil {
			// The key refused is on the record too (tester: a badCSR
			// for a key the endpoint does not allow recorded none).
			if alg, err := x509util.KeyAlgorithmOf(parsed.PublicKey); err == nil {
				op.Param("KeyAlgorithm", alg)
			}
		}
		csr, p := checkParsedCSR(parsed, o, ep, req.Key.Key)
		if p != nil {
			return refuse(p)
		}
		op.Param("KeyAlgorithm", csr.KeyAlgorithm)
		if err := s.issue(op, ep, req.Account, o, authzs, csr); err != nil {
			// A refusal of the CA (caRefusal) will not change by asking
			// again: the order becomes invalid with it (RFC 8555 7.1.6),
			// so that a client that retries is told orderNotReady and
			// the failure is counted once an order.
			var p *Problem
			if errors.As(err, &p) {
				lapsed = p
			}
			return err
		}
		order = o
		return nil
	})
	if err != nil && !errors.Is(err, errReplayed) {
		// The transaction, and the nonce's redemption in it, were
		// rolled back: the nonce is redeemed before anything else.
		if p := s.settle(r, req); p != nil {
			writeProblem(w, p)
			return
		}
		if lapsed != nil {
			s.invalidateOrder(r, req.Account, order, lapsed)
		}
		if counted {
			s.countFailure(r, req.Account, order)
		}
	}
	if p := s.settleChange(r, req, err); p != nil {
		writeProblem(w, p)
		return
	}
	s.writeOrder(w, r, http.StatusOK, order)
}

// issue signs the order's certificate, with the order's profile, from the
// endpoint's vault CA (--certificate-authority-arn; the certificate is
// PRIVATE) or else the public-style CA for the key's family, and records
// it in the inventory (KeyPairOrigin ACME, no key). An order that replaces
// a certificate (RFC 9773) adds a version to that certificate; else a
// re-issue by the same account for the same names and key algorithm adds
// a version to the same certificate.
func (s *Server) issue(op *service.Op, ep *acmestate.Endpoint, acct *acmestate.Account, o *acmestate.Order, authzs []*acmestate.Authz, csr *checkedCSR) error {
	tx, now := op.Tx, op.Now
	names := commonNameFirst(orderNames(o), csr.CommonName)
	key := acmestate.ReissueKey(ep.ID, acct.ID, csr.KeyAlgorithm, sortedNames(o.Identifiers))
	certID, err := acmestate.ReissueTarget(tx, key)
	if err != nil {
		return err
	}
	if o.ReplacesCertificateID != "" {
		certID = o.ReplacesCertificateID
	}
	var c *localstore.Certificate
	if certID != "" {
		c, err = tx.GetCertificate(certID)
		if errors.Is(err, localstore.ErrNotFound) {
			c, err = nil, nil
		}
		if err != nil {
			return err
		}
	}
	caRec, typ, err := s.issuingCA(tx, ep, csr.PublicKey)
	if err != nil {
		return caRefusal(err)
	}
	prof, ok := acmestate.LookupProfile(o.Profile)
	if !ok {
		prof, _ = acmestate.LookupProfile(acmestate.ProfileClassic) // orders made before profiles
	}
	validity := prof.Validity(s.cfg.Validity)
	action := events.ActionRenewal
	if c == nil {
		action = events.ActionIssuance
		c = inventory.NewIssuedRecord(uuid.NewString(), typ, caRec.ID, ep.CertificateTags, "DISABLED", "ENABLED", now)
		c.KeyPairOrigin = inventory.OriginACME
		c.AcmeEndpointID = ep.ID
		c.AcmeAccountID = acct.ID
	}
	c.ValidationMethod = validationMethod(authzs)
	op.Resource(s.core.Names.CertificateARN(c.ID))
	c.CertificateAuthorityID, c.Type = caRec.ID, typ
	c.RevokedAt, c.RevocationReason = time.Time{}, ""
	issued, err := s.core.Authority.IssueLeaf(tx, caRec, authority.LeafParams{CertID: c.ID, Names: names, PublicKey: csr.PublicKey, Validity: validity,
		ClientAuth: prof.ClientAuth, Requester: authority.Requester(s.actor(acct.ID))})
	if err != nil {
		return caRefusal(err)
	}
	// An ACME certificate's key is the client's: StoreIssued makes it
	// INELIGIBLE, never renewed by the vault (UpdateEligibility).
	if err := inventory.StoreIssued(tx, s.core.Vault, c, issued.Certificate, issued.ChainPEM, nil, now); err != nil {
		return err
	}
	// The record names what was issued, as a revocation's names what it
	// revoked (tester: an auditor could not match the two).
	op.Param("Serial", c.Serial)
	op.Param("Version", c.Version)
	if err := acmestate.SetReissueTarget(tx, key, c.ID, now); err != nil {
		return err
	}
	if o.Replaces != "" {
		if err := acmestate.PutReplacement(tx, ep.ID, o.Replaces, &acmestate.Replacement{OrderID: o.ID, Issued: true, At: now}); err != nil {
			return err
		}
	}
	o.Status, o.CertificateID, o.CertificateVersion, o.UpdatedAt = acmestate.AcmeValid, c.ID, c.Version, now
	if err := acmestate.PutOrder(tx, o); err != nil {
		return err
	}
	if err := op.Events.EmitAvailable(tx, c, action); err != nil {
		return err
	}
	return acmestate.CountIssuance(tx, ep.ID, true, now)
}

// issuingCA is the CA an order of ep is signed by, with the inventory type
// of its certificates: the endpoint's vault CA (PRIVATE), which must still
// be able to issue, else the public-style CA for the key's family
// (AMAZON_ISSUED).
func (s *Server) issuingCA(tx localstore.Tx, ep *acmestate.Endpoint, pub crypto.PublicKey) (*authority.Record, string, error) {
	if ep.CertificateAuthorityID == "" {
		r, err := s.core.Authority.EnsurePublic(tx, pub)
		return r, inventory.TypeIssued, err
	}
	r, err := authority.Get(tx, ep.CertificateAuthorityID)
	if authority.IsNotFound(err) {
		return nil, "", errs.NotFoundf("certificate authority %s is gone from the vault", ep.CertificateAuthorityID).WithCode(authority.ReasonNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	// An endpoint given a public-style CA by a release before the rule.
	if err := authority.CheckPrivateIssuer(tx, r); err != nil {
		return nil, "", err
	}
	if err := s.core.Authority.CheckCanIssue(r); err != nil {
		return nil, "", err
	}
	return r, inventory.TypePrivate, nil
}

// caRefusal is the refusal of a change by a rule of the CA an order is
// issued from — an errs.Error of exit 3, 4 or 5 from pkg/authority: a
// name outside its name constraints (DOMAIN_NOT_ALLOWED), a validity it
// cannot cover (PCA_INVALID_DURATION), a CA that cannot issue
// (PCA_INVALID_STATE) or is gone (PCA_RESOURCE_NOT_FOUND) — recorded with
// the CA's reason as its ErrorCode, as `certctl request` records it, and
// answered with the problem ruleProblem gives it. Any other error is
// returned as it is.
func caRefusal(err error) error {
	p := ruleProblem(err)
	if p == nil {
		return err
	}
	return &errs.Error{Exit: errs.ExitCodeOf(err), Code: errs.CodeNameOf(err), Err: p}
}

// countFailure adds one failed issuance to the endpoint's counters, in a
// transaction of its own (a refused FinalizeOrder leaves nothing behind)
// with no audit record: the FinalizeOrder FAILURE it counts is the record
// of what happened, and a counter is the server's own bookkeeping, as its
// nonces are (tester: a CountIssuanceFailure SUCCESS, no API's name,
// followed every FinalizeOrder FAILURE). Vaults written before keep such
// records (audit.EventNames still names it).
func (s *Server) countFailure(r *http.Request, acct *acmestate.Account, o *acmestate.Order) {
	err := s.core.Unrecorded(context.WithoutCancel(r.Context()), func(tx localstore.Tx) error {
		return acmestate.CountIssuance(tx, o.EndpointID, false, s.core.Now())
	})
	if err != nil {
		s.logf("acme: counting a failed issuance: %v", err)
	}
}

// orderNames are the names of an order's identifiers, in its order.
// validationMethod is the ValidationMethod of the certificate issued for
// an order, from its authorizations (orderAuthzs): how the name that is
// its DomainName (the order's first) was proved, in
// ACM's enumeration (DNS, EMAIL, HTTP) that search filters on — HTTP by
// http-01; DNS by dns-01, or by the endpoint's domain validation (a DNS
// CNAME, or the administrator's --pre-validated) that pre-approved it;
// none for tls-alpn-01, which the enumeration has no value for.
func validationMethod(authzs []*acmestate.Authz) string {
	if len(authzs) == 0 || authzs[0] == nil || !authzs[0].ProvedByChallenge() {
		return validation.MethodDNS
	}
	a := authzs[0]
	for _, ch := range a.Challenges {
		if ch.Status != acmestate.AcmeValid {
			continue
		}
		switch ch.Type {
		case validation.ChallengeHTTP01, validation.ChallengeTLSALPN01:
			// tls-alpn-01, like http-01, proves the name by a connection
			// to the host: ACM's enumeration has HTTP for that.
			return validation.MethodHTTP
		case validation.ChallengeDNS01:
			return validation.MethodDNS
		}
	}
	return ""
}

func orderNames(o *acmestate.Order) []string {
	names := make([]string, len(o.Identifiers))
	for i, id := range o.Identifiers {
		names[i] = id.Value
	}
	return names
}

// commonNameFirst orders names so that the first, the certificate's
// common name, is the CSR's CN when it has one that fits a CN (64
// octets), else the first name that fits; with none that fits, the
// certificate has no CN (casign.LeafTemplate), its names in the SAN alone.
func commonNameFirst(names []string, cn string) []string {
	i := slices.Index(names, cn)
	if cn == "" || i < 0 || len(cn) > dnsname.MaxCommonNameLength {
		i = slices.IndexFunc(names, func(n string) bool { return len(n) <= dnsname.MaxCommonNameLength })
	}
	if i <= 0 {
		return names
	}
	out := append([]string{names[i]}, names[:i]...)
	return append(out, names[i+1:]...)
}

// invalidateOrder stores a pending or ready order invalid
// (InvalidateOrder) after a finalize refused because its authorizations or
// names lapsed (RFC 8555 7.1.6). The refused FinalizeOrder left nothing
// behind, so this is a change of its own, like countFailure; an order no
// longer pending or ready is left as it is.
func (s *Server) invalidateOrder(r *http.Request, acct *acmestate.Account, o *acmestate.Order, why *Problem) {
	_, err := s.as(acct.ID).ChangeIf(context.WithoutCancel(r.Context()), "InvalidateOrder", func(op *service.Op) error {
		op.Resource(s.endpointARN(o.EndpointID), s.orderARN(o))
		cur, err := acmestate.GetOrder(op.Tx, o.ID)
		if err != nil {
			return err
		}
		if cur.Status != acmestate.AcmePending && cur.Status != acmestate.AcmeReady {
			return service.ErrUnchanged
		}
		op.Param("Reason", why.Detail)
		// The order's error says why (RFC 8555 7.1.3).
		markInvalid(cur, why)
		cur.UpdatedAt = op.Now
		return acmestate.PutOrder(op.Tx, cur)
	})
	if err != nil {
		s.logf("acme: invalidating order %s: %v", o.ID, err)
	}
}
