package acmeserver

import (
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// orderJSON is the RFC 8555 7.1.3 order object.
type orderJSON struct {
	Status         string                 `json:"status"`
	Expires        string                 `json:"expires,omitempty"`
	Identifiers    []acmestate.Identifier `json:"identifiers"`
	NotBefore      string                 `json:"notBefore,omitempty"`
	NotAfter       string                 `json:"notAfter,omitempty"`
	Authorizations []string               `json:"authorizations"`
	Finalize       string                 `json:"finalize"`
	Certificate    string                 `json:"certificate,omitempty"`
	Error          *Problem               `json:"error,omitempty"`
	Profile        string                 `json:"profile,omitempty"`
	Replaces       string                 `json:"replaces,omitempty"`
}

type newOrderPayload struct {
	Identifiers []acmestate.Identifier `json:"identifiers"`
	NotBefore   string                 `json:"notBefore"`
	NotAfter    string                 `json:"notAfter"`
	// Profile names a profile of meta.profiles (acme-profiles draft).
	Profile *string `json:"profile"`
	// Replaces is the certID of the certificate the order replaces (RFC
	// 9773 section 5).
	Replaces *string `json:"replaces"`
}

func (s *Server) orderURL(r *http.Request, o *acmestate.Order) string {
	return s.url(r, o.EndpointID, "/order/"+o.ID)
}

func (s *Server) writeOrder(w http.ResponseWriter, r *http.Request, status int, o *acmestate.Order) {
	out := orderJSON{
		Status: o.Status, Expires: rfc3339(o.Expires), Identifiers: o.Identifiers,
		NotBefore: rfc3339(o.NotBefore), NotAfter: rfc3339(o.NotAfter),
		Finalize: s.orderURL(r, o) + "/finalize", Authorizations: []string{},
		Profile: o.Profile, Replaces: o.Replaces,
	}
	for _, a := range o.Authorizations {
		out.Authorizations = append(out.Authorizations, s.url(r, o.EndpointID, "/authz/"+a))
	}
	if o.Error != nil {
		out.Error = &Problem{Type: o.Error.Type, Detail: o.Error.Detail, Status: o.Error.Status}
	}
	if o.Status == acmestate.AcmeValid {
		out.Certificate = s.url(r, o.EndpointID, "/cert/"+o.ID)
	}
	if o.Status == acmestate.AcmeProcessing {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Location", s.orderURL(r, o))
	writeJSON(w, status, out)
}

// orderNames validates the identifiers of a new order and returns the
// names in order, normalised and without duplicates.
func (s *Server) orderNames(ids []acmestate.Identifier) ([]string, *Problem) {
	if len(ids) == 0 {
		return nil, malformed("an order needs at least one identifier")
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if id.Type != "dns" {
			return nil, problem(errUnsupportedIdentifier, http.StatusBadRequest, "only dns identifiers are supported")
		}
		names = append(names, id.Value)
	}
	out, err := dnsname.ValidateSANList(names, s.cfg.DomainsPerCertificate)
	if err != nil {
		return nil, problem(errRejectedIdentifier, http.StatusBadRequest, err.Error())
	}
	return out, nil
}

// approve refuses names no VALID domain of ep pre-approves.
func approve(tx localstore.Tx, ep *acmestate.Endpoint, names []string) (*Problem, error) {
	rest, err := unapproved(tx, ep, names)
	if err != nil || len(rest) == 0 {
		return nil, err
	}
	return rejection(rest), nil
}

// unapproved are the names no VALID domain of ep pre-approves.
func unapproved(tx localstore.Tx, ep *acmestate.Endpoint, names []string) ([]string, error) {
	domains, err := acmestate.ListDomains(tx, ep.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !acmestate.Approved(domains, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// rejection refuses names that are not pre-approved.
func rejection(names []string) *Problem {
	sub := make([]Subproblem, len(names))
	for i, n := range names {
		sub[i] = Subproblem{Type: errRejectedIdentifier, Detail: n + " is not pre-approved for this endpoint",
			Identifier: &acmestate.Identifier{Type: "dns", Value: n}}
	}
	p := problem(errRejectedIdentifier, http.StatusBadRequest, "names not pre-approved for this endpoint: "+strings.Join(names, ", "))
	p.Subproblems = sub
	return p
}

func subNames(sub []Subproblem) []string {
	out := make([]string, len(sub))
	for i, p := range sub {
		out[i] = p.Identifier.Value
	}
	return out
}

// checkCANames refuses, when the order is made, names the name
// constraints of ep's vault CA (or of a CA above it) do not allow
// (rejectedIdentifier, one subproblem a name, recorded as
// DOMAIN_NOT_ALLOWED), so that a client learns it before it proves
// anything rather than at finalize. Finalize checks again as it signs,
// since the endpoint's CA may change meanwhile. Nothing is checked here
// when ep issues from the public-style hierarchy or its CA is gone or
// cannot issue: finalize refuses that with its own reason.
func (s *Server) checkCANames(tx localstore.Tx, ep *acmestate.Endpoint, names []string) error {
	if ep.CertificateAuthorityID == "" {
		return nil
	}
	ca, err := authority.Get(tx, ep.CertificateAuthorityID)
	if authority.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.core.Authority.CheckCanIssue(ca) != nil {
		return nil
	}
	// All the names at once (one look at the CA's chain, what nearly
	// every order needs); one at a time only to tell the client which.
	if err := s.core.Authority.CheckNames(tx, ca, names); err == nil {
		return nil
	} else if errs.CodeNameOf(err) != authority.ReasonDomainNotAllowed {
		return err
	}
	var sub []Subproblem
	for _, n := range names {
		err := s.core.Authority.CheckNames(tx, ca, []string{n})
		if err == nil {
			continue
		}
		if errs.CodeNameOf(err) != authority.ReasonDomainNotAllowed {
			return err
		}
		sub = append(sub, Subproblem{Type: errRejectedIdentifier, Detail: err.Error(),
			Identifier: &acmestate.Identifier{Type: "dns", Value: n}})
	}
	if len(sub) == 0 {
		return nil
	}
	p := problem(errRejectedIdentifier, http.StatusBadRequest,
		"the certificate authority of this endpoint does not issue for "+strings.Join(subNames(sub), ", ")+": its name constraints do not allow them")
	p.Subproblems = sub
	return &errs.Error{Exit: errs.ExitRefused, Code: authority.ReasonDomainNotAllowed, Err: p}
}

// handleNewOrder creates an order (NewOrder): ready at once with one valid
// authorization a name when every name is pre-approved; on a CHALLENGE
// endpoint, pending with a pending authorization (and its challenges) for
// each name that is not.
func (s *Server) handleNewOrder(w http.ResponseWriter, r *http.Request) {
	// The nonce is redeemed in the change's transaction.
	ep, req, ok := s.authenticateDeferred(w, r, needKID)
	if !ok {
		return
	}
	var in newOrderPayload
	if p := decodePayload(req, &in); p != nil {
		s.fail(w, r, req, p)
		return
	}
	if in.NotBefore != "" || in.NotAfter != "" {
		s.refused(w, r, req, "NewOrder", malformed("notBefore and notAfter are not supported: validity is set by the endpoint"), s.endpointARN(ep.ID))
		return
	}
	var order *acmestate.Order
	err := s.change(r.Context(), req.Account.ID, "NewOrder", func(op *service.Op) error {
		if err := redeemIn(op.Tx, req); err != nil {
			return err
		}
		op.Resource(s.endpointARN(ep.ID))
		op.Param("Identifiers", identifierValues(in.Identifiers))
		names, p := s.orderNames(in.Identifiers)
		if p != nil {
			return refuse(p)
		}
		challenged, p, err := admitNames(op.Tx, ep, names)
		if err != nil {
			return err
		}
		if p != nil {
			return refuse(p)
		}
		if err := s.checkCANames(op.Tx, ep, names); err != nil {
			return err
		}
		profile, p := orderProfile(ep, in.Profile)
		if p != nil {
			// The profile refused is on the record (tester: only the
			// identifiers were).
			op.Param("Profile", *in.Profile)
			return refuse(p)
		}
		op.Param("Profile", profile)
		replaces, p, err := s.orderReplaces(op, ep, req.Account, in.Replaces, names)
		if err != nil {
			return err
		}
		if p != nil {
			return refuse(p)
		}
		if err := s.admitOrder(op, ep.ID, req.Account.ID); err != nil {
			return err
		}
		now := op.Now
		o := &acmestate.Order{ID: uuid.NewString(), EndpointID: ep.ID, AccountID: req.Account.ID,
			Status: acmestate.AcmeReady, Expires: now.Add(OrderLifetime), CreatedAt: now, UpdatedAt: now,
			Profile: profile}
		if replaces != nil {
			o.Replaces, o.ReplacesCertificateID = *in.Replaces, replaces.Certificate.ID
			if err := acmestate.PutReplacement(op.Tx, ep.ID, o.Replaces, &acmestate.Replacement{OrderID: o.ID, At: now}); err != nil {
				return err
			}
		}
		for _, n := range names {
			o.Identifiers = append(o.Identifiers, acmestate.Identifier{Type: "dns", Value: n})
			// The token of a pre-approved name's (valid) challenge is one
			// as any other: RFC 8555 section 8.1 asks for 128 bits at
			// least (a UUID's text had 122).
			tok, err := acmestate.NewToken()
			if err != nil {
				return err
			}
			a := &acmestate.Authz{ID: uuid.NewString(), EndpointID: ep.ID, AccountID: req.Account.ID,
				Status: acmestate.AcmeValid, Identifier: acmestate.Identifier{Type: "dns", Value: dnsname.Base(n)},
				Wildcard: dnsname.IsWildcard(n), Expires: o.Expires, Token: tok,
				ValidAt: now, UpdatedAt: now, OrderID: o.ID}
			if challenged[n] {
				if err := offer(a, ep, n, now); err != nil {
					return err
				}
				o.Status = acmestate.AcmePending
			}
			if err := acmestate.PutAuthz(op.Tx, a); err != nil {
				return err
			}
			o.Authorizations = append(o.Authorizations, a.ID)
		}
		order = o
		op.Resource(s.orderARN(o))
		return acmestate.PutOrder(op.Tx, o)
	})
	if p := s.settleChange(r, req, err); p != nil {
		writeProblem(w, p)
		return
	}
	s.writeOrder(w, r, http.StatusCreated, order)
}

// orderProfile is the profile of a new order: the one asked for, else the
// endpoint's default; an unknown name is invalidProfile.
func orderProfile(ep *acmestate.Endpoint, asked *string) (string, *Problem) {
	if asked == nil || *asked == "" {
		return ep.Profile(), nil
	}
	if _, ok := acmestate.LookupProfile(*asked); !ok {
		return "", problem(errInvalidProfile, http.StatusBadRequest,
			"unknown profile "+strconv.Quote(*asked)+" (this endpoint offers "+strings.Join(acmestate.ProfileNames(), ", ")+")")
	}
	return *asked, nil
}

// orderReplaces checks the replaces field of a new order (RFC 9773
// section 5): the certID of a certificate this endpoint issued to the
// requesting account, sharing a name with the order, that no other order
// replaces (alreadyReplaced, unless that order became invalid); nil when
// the order replaces nothing.
func (s *Server) orderReplaces(op *service.Op, ep *acmestate.Endpoint, acct *acmestate.Account, certID *string, names []string) (*acmestate.Issued, *Problem, error) {
	if certID == nil {
		return nil, nil, nil
	}
	op.Param("Replaces", *certID)
	is, p, err := lookupCertID(op.Tx, ep, *certID)
	if err != nil || p != nil {
		if p != nil && p.Status == http.StatusNotFound {
			p = malformed("replaces: " + p.Detail)
		} else if p != nil {
			p.Detail = "replaces: " + p.Detail
		}
		return nil, p, err
	}
	if is.Certificate.AcmeAccountID != acct.ID {
		return nil, unauthorized("replaces: the certificate was issued to another account"), nil
	}
	op.Resource(s.core.Names.CertificateARN(is.Certificate.ID))
	if !sharesName(is.Serial.DER, names) {
		return nil, malformed("replaces: the order shares no identifier with the certificate it replaces"), nil
	}
	rep, err := acmestate.GetReplacement(op.Tx, ep.ID, *certID)
	if err != nil {
		return nil, nil, err
	}
	if rep != nil {
		busy := rep.Issued
		if !busy {
			o, err := acmestate.GetOrder(op.Tx, rep.OrderID)
			if err != nil && !errors.Is(err, localstore.ErrNotFound) {
				return nil, nil, err
			}
			if err == nil {
				s.expireOrder(o)
				busy = o.Status != acmestate.AcmeInvalid
			}
		}
		if busy {
			return nil, problem(errAlreadyReplaced, http.StatusConflict, "replaces: the certificate is already replaced by order "+rep.OrderID), nil
		}
	}
	return is, nil, nil
}

// sharesName reports whether the certificate der names one of names.
func sharesName(der []byte, names []string) bool {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return false
	}
	for _, n := range c.DNSNames {
		if slices.Contains(names, dnsname.Normalize(n)) {
			return true
		}
	}
	return false
}

// identifierValues are the values of identifiers as recorded (the names
// asked for, at most maxRecorded of them).
func identifierValues(ids []acmestate.Identifier) []string {
	out := make([]string, 0, min(len(ids), maxRecorded))
	for _, id := range ids[:min(len(ids), maxRecorded)] {
		out = append(out, id.Value)
	}
	return out
}

// maxRecorded bounds the list items of one request recorded in the audit
// log (a refused request may carry many).
const maxRecorded = 100

// readOrder is an order read ahead (see readAhead), or by loadOrderFrom.
type readOrder struct {
	o *acmestate.Order
	// lapsed is what authzLapsed found, when asked for.
	lapsed *Problem
	err    error
}

// readOrderIn reads in tx the order the request path names. When it is an
// order of ep owned by acct, it runs also (when set) and, with lapse, reads
// its authorizations for authzLapsed: a view shows an order whose
// authorizations lapsed as invalid, which finalize, re-checking them in
// its own transaction, does not need to know beforehand.
func (s *Server) readOrderIn(tx localstore.Tx, r *http.Request, ep *acmestate.Endpoint, acct *acmestate.Account, lapse bool, also func(localstore.Tx, *acmestate.Order)) *readOrder {
	pre := &readOrder{}
	pre.o, pre.err = acmestate.GetOrder(tx, r.PathValue("id"))
	o := pre.o
	if pre.err != nil || o.EndpointID != ep.ID || o.AccountID != acct.ID {
		return pre
	}
	if also != nil {
		also(tx, o)
	}
	if lapse {
		pre.lapsed, pre.err = s.authzLapsed(tx, o)
	}
	return pre
}

// readOrderAhead is the readAhead of a request for the order its path
// names (see readOrderIn); *pre is what it read.
func (s *Server) readOrderAhead(r *http.Request, pre **readOrder, lapse bool, also func(localstore.Tx, *acmestate.Order)) readAhead {
	return func(tx localstore.Tx, ep *acmestate.Endpoint, acct *acmestate.Account) {
		*pre = s.readOrderIn(tx, r, ep, acct, lapse, also)
	}
}

// loadOrderFrom is the order of ep owned by the requesting account that
// the request path names, taken from pre when it was read ahead (see
// readOrderAhead), else read as readOrderIn reads it; with lapse, a view
// of it (expired or lapsed: invalid).
func (s *Server) loadOrderFrom(r *http.Request, ep *acmestate.Endpoint, req *request, pre *readOrder, lapse bool, also func(localstore.Tx, *acmestate.Order)) (*acmestate.Order, *Problem) {
	if pre == nil {
		pre = &readOrder{}
		err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
			pre = s.readOrderIn(tx, r, ep, req.Account, lapse, also)
			return pre.err
		})
		if pre.err == nil {
			pre.err = err // the transaction's own failure
		}
	}
	o, lapsed, err := pre.o, pre.lapsed, pre.err
	if errors.Is(err, localstore.ErrNotFound) || (err == nil && o.EndpointID != ep.ID) {
		return nil, problem(errMalformed, http.StatusNotFound, "no such order")
	}
	if err != nil {
		return nil, s.internal(err)
	}
	if o.AccountID != req.Account.ID {
		return nil, unauthorized("the order belongs to another account")
	}
	s.expireOrder(o)
	if lapsed != nil && (o.Status == acmestate.AcmePending || o.Status == acmestate.AcmeReady) {
		markInvalid(o, lapsed) // in the view; finalize stores it (see invalidateOrder)
	}
	return o, nil
}

// markInvalid makes order o invalid, with why as its error unless it has
// one: RFC 8555 7.1.3's "error that occurred while processing the order",
// which clients (certbot, lego) show when an order goes invalid (review:
// an order invalid because the client deactivated an authorization had
// none). Every way this server makes an order invalid goes through it —
// an authorization that lapsed (authzsLapsed), the order's expiry
// (expireOrder), a finalize refused for good (invalidateOrder) — but a
// failed challenge, whose problem acmestate.RecordChallenge stores as
// the order's error with the order invalid.
func markInvalid(o *acmestate.Order, why *Problem) {
	o.Status = acmestate.AcmeInvalid
	if o.Error == nil {
		o.Error = &acmestate.Problem{Type: why.Type, Detail: why.Detail, Status: why.Status}
	}
}

// authzLapsed is why the authorizations of a pending or ready order no
// longer allow it (RFC 8555 7.1.6: an order whose authorization is
// deactivated, invalid, revoked or expired is invalid); nil when they all
// still do.
func (s *Server) authzLapsed(tx localstore.Tx, o *acmestate.Order) (*Problem, error) {
	if o.Status != acmestate.AcmePending && o.Status != acmestate.AcmeReady {
		return nil, nil
	}
	authzs, err := orderAuthzs(tx, o)
	if err != nil {
		return nil, err
	}
	return s.authzsLapsed(o, authzs), nil
}

// orderAuthzs reads the authorizations of o, in order, for the checks of
// one transaction (finalize makes three): nil for one that is gone.
func orderAuthzs(tx localstore.Tx, o *acmestate.Order) ([]*acmestate.Authz, error) {
	out := make([]*acmestate.Authz, len(o.Authorizations))
	for i, id := range o.Authorizations {
		a, err := acmestate.GetAuthz(tx, id)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// authzsLapsed is authzLapsed on the authorizations orderAuthzs read: the
// order's error once invalid (markInvalid), unauthorized — the account
// no longer holds an authorization for the identifier it names — where
// finalize answers orderNotReady (notReady).
func (s *Server) authzsLapsed(o *acmestate.Order, authzs []*acmestate.Authz) *Problem {
	if o.Status != acmestate.AcmePending && o.Status != acmestate.AcmeReady {
		return nil
	}
	now := s.core.Now()
	for i, a := range authzs {
		if a == nil {
			name := "an identifier"
			if i < len(o.Identifiers) {
				name = o.Identifiers[i].Value
			}
			return unauthorized("the authorization of " + name + " is gone")
		}
		st := a.Status
		if (st == acmestate.AcmeValid || st == acmestate.AcmePending) && !now.Before(a.Expires) {
			st = "expired"
		}
		if st != acmestate.AcmeValid && st != acmestate.AcmePending {
			return unauthorized("the authorization of " + a.Identifier.Value + " is " + st)
		}
	}
	return nil
}

// notReady is the answer of a finalize of an order that why made invalid
// (RFC 8555 7.4: orderNotReady).
func notReady(why *Problem) *Problem {
	return problem(errOrderNotReady, http.StatusForbidden, "the order is invalid: "+why.Detail)
}

// expireOrder marks a pending or ready order past its expiry invalid (in
// the view returned; the stored record is left to later writes), its
// error saying so.
func (s *Server) expireOrder(o *acmestate.Order) {
	if (o.Status == acmestate.AcmePending || o.Status == acmestate.AcmeReady) && !s.core.Now().Before(o.Expires) {
		markInvalid(o, unauthorized("the order expired at "+rfc3339(o.Expires)+" before it was finalized"))
	}
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	// The order is read with the endpoint and account.
	var pre *readOrder
	ep, req, ok := s.postAsGetWith(w, r, s.readOrderAhead(r, &pre, true, nil))
	if !ok {
		return
	}
	o, p := s.loadOrderFrom(r, ep, req, pre, true, nil)
	if p != nil {
		writeProblem(w, p)
		return
	}
	s.writeOrder(w, r, http.StatusOK, o)
}

// postAsGet verifies a kid-signed POST-as-GET (empty payload).
func (s *Server) postAsGet(w http.ResponseWriter, r *http.Request) (*acmestate.Endpoint, *request, bool) {
	return s.postAsGetWith(w, r, nil)
}

// postAsGetWith is postAsGet running also as authenticateWith does.
func (s *Server) postAsGetWith(w http.ResponseWriter, r *http.Request, also readAhead) (*acmestate.Endpoint, *request, bool) {
	ep, req, ok := s.authenticateWith(w, r, needKID, false, also)
	if !ok {
		return nil, nil, false
	}
	if !req.PostAsGet {
		writeProblem(w, malformed("POST-as-GET requests must have an empty payload"))
		return nil, nil, false
	}
	return ep, req, true
}

// authzJSON is the RFC 8555 7.1.4 authorization object.
type authzJSON struct {
	Identifier acmestate.Identifier `json:"identifier"`
	Status     string               `json:"status"`
	Expires    string               `json:"expires,omitempty"`
	Challenges []challengeJSON      `json:"challenges"`
	Wildcard   bool                 `json:"wildcard,omitempty"`
}

type authzUpdatePayload struct {
	Status string `json:"status"`
}

// readAuthz is an authorization read ahead (see readAhead).
type readAuthz struct {
	a   *acmestate.Authz
	err error
}

// readAuthzAhead is the readAhead of a request for the authorization its
// path names; *pre is what it read.
func readAuthzAhead(r *http.Request, pre **readAuthz) readAhead {
	return func(tx localstore.Tx, _ *acmestate.Endpoint, _ *acmestate.Account) {
		*pre = &readAuthz{}
		(*pre).a, (*pre).err = acmestate.GetAuthz(tx, r.PathValue("id"))
	}
}

// loadAuthzFrom reads an authorization of ep owned by the requesting
// account, or takes it from pre when it was read ahead.
func (s *Server) loadAuthzFrom(r *http.Request, ep *acmestate.Endpoint, req *request, pre *readAuthz) (*acmestate.Authz, *Problem) {
	var a *acmestate.Authz
	var err error
	if pre != nil {
		a, err = pre.a, pre.err
	} else {
		err = s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
			var err error
			a, err = acmestate.GetAuthz(tx, r.PathValue("id"))
			return err
		})
	}
	if errors.Is(err, localstore.ErrNotFound) || (err == nil && a.EndpointID != ep.ID) {
		return nil, problem(errMalformed, http.StatusNotFound, "no such authorization")
	}
	if err != nil {
		return nil, s.internal(err)
	}
	if a.AccountID != req.Account.ID {
		return nil, unauthorized("the authorization belongs to another account")
	}
	if (a.Status == acmestate.AcmeValid || a.Status == acmestate.AcmePending) && !s.core.Now().Before(a.Expires) {
		a.Status = "expired"
	}
	return a, nil
}

func (s *Server) handleAuthz(w http.ResponseWriter, r *http.Request) {
	// The authorization is read with the endpoint and account.
	var pre *readAuthz
	ep, req, ok := s.authenticateWith(w, r, needKID, false, readAuthzAhead(r, &pre))
	if !ok {
		return
	}
	a, p := s.loadAuthzFrom(r, ep, req, pre)
	if p != nil {
		if req.PostAsGet {
			writeProblem(w, p)
			return
		}
		// No authorization of the account's by that URL: a change
		// refused, and recorded.
		s.refused(w, r, req, "DeactivateAuthorization", p, s.endpointARN(ep.ID))
		return
	}
	if !req.PostAsGet {
		var in authzUpdatePayload
		if p := decodePayload(req, &in); p != nil {
			writeProblem(w, p)
			return
		}
		if in.Status != acmestate.AcmeDeactivated {
			s.refused(w, r, req, "DeactivateAuthorization", malformed("an authorization may only be deactivated"),
				s.endpointARN(ep.ID), acmestate.AuthzARN(s.core.Names, ep.ID, a.ID))
			return
		}
		err := s.change(r.Context(), req.Account.ID, "DeactivateAuthorization", func(op *service.Op) error {
			op.Resource(s.endpointARN(ep.ID), acmestate.AuthzARN(s.core.Names, ep.ID, a.ID))
			cur, err := acmestate.GetAuthz(op.Tx, a.ID)
			if err != nil {
				return err
			}
			// Only a pending or valid authorization may be deactivated
			// (RFC 8555 7.1.6): invalid, expired, deactivated and revoked
			// are final.
			if cur.Status != acmestate.AcmePending && cur.Status != acmestate.AcmeValid || !op.Now.Before(cur.Expires) {
				st := cur.Status
				if !op.Now.Before(cur.Expires) && (st == acmestate.AcmePending || st == acmestate.AcmeValid) {
					st = "expired"
				}
				return refuse(malformed("the authorization is " + st + "; only a pending or valid authorization may be deactivated"))
			}
			cur.Status, cur.UpdatedAt = acmestate.AcmeDeactivated, op.Now
			a = cur
			return acmestate.PutAuthz(op.Tx, cur)
		})
		if err != nil {
			writeProblem(w, s.problemOf(err))
			return
		}
	}
	if req.PostAsGet {
		if a, p = s.resumeStale(r.Context(), req.Account, a); p != nil {
			writeProblem(w, p)
			return
		}
	}
	writeJSON(w, http.StatusOK, authzJSON{Identifier: a.Identifier, Status: a.Status, Expires: rfc3339(a.Expires),
		Challenges: s.challengesOf(r, a), Wildcard: a.Wildcard})
}

// sortedNames returns the names of an order's identifiers, sorted.
func sortedNames(ids []acmestate.Identifier) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.Value
	}
	slices.Sort(out)
	return out
}
