package acmeserver

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
)

// ValidationTimeout bounds the check of one challenge (CAA, DNS, the
// connection to the client's server).
const ValidationTimeout = 30 * time.Second

// challengeJSON is the RFC 8555 7.1.5 challenge object.
type challengeJSON struct {
	Type      string   `json:"type"`
	URL       string   `json:"url"`
	Status    string   `json:"status"`
	Token     string   `json:"token"`
	Validated string   `json:"validated,omitempty"`
	Error     *Problem `json:"error,omitempty"`
}

// challengeOf is the one challenge of a pre-approved authorization: a
// dns-01 challenge recorded valid (the endpoint's domain validation is the
// proof), for clients that look for one. Valid is final (RFC 8555 7.1.6):
// it stays valid once the authorization is deactivated, expires or is
// revoked (tester: it turned invalid, its validated time kept); an
// authorization never valid shows it invalid.
func (s *Server) challengeOf(r *http.Request, a *acmestate.Authz) challengeJSON {
	st := acmestate.AcmeValid
	if a.Status != acmestate.AcmeValid && a.ValidAt.IsZero() {
		st = acmestate.AcmeInvalid
	}
	return challengeJSON{Type: "dns-01", URL: s.url(r, a.EndpointID, "/chall/"+a.ID), Status: st, Token: a.Token,
		Validated: rfc3339(a.ValidAt)}
}

// offeredJSON is challenge c of authorization a.
func (s *Server) offeredJSON(r *http.Request, a *acmestate.Authz, c *acmestate.Challenge) challengeJSON {
	out := challengeJSON{Type: c.Type, URL: s.url(r, a.EndpointID, "/chall/"+a.ID+"/"+c.Type), Status: c.Status,
		Token: c.Token, Validated: rfc3339(c.Validated)}
	if c.Error != nil {
		out.Error = &Problem{Type: c.Error.Type, Detail: c.Error.Detail, Status: c.Error.Status}
	}
	return out
}

// challengesOf are the challenges of authorization a (RFC 8555 7.1.4):
// while it is pending every one offered; once a challenge validated it,
// that one — also after the authorization was deactivated, expired or was
// revoked (tester: a deactivated valid authorization listed the unused
// challenges again, pending); once invalid, the one that failed.
func (s *Server) challengesOf(r *http.Request, a *acmestate.Authz) []challengeJSON {
	if len(a.Challenges) == 0 {
		return []challengeJSON{s.challengeOf(r, a)}
	}
	var all, valid, failed []challengeJSON
	for i := range a.Challenges {
		c := s.offeredJSON(r, a, &a.Challenges[i])
		all = append(all, c)
		switch c.Status {
		case acmestate.AcmeValid:
			valid = append(valid, c)
		case acmestate.AcmeInvalid:
			failed = append(failed, c)
		}
	}
	switch {
	case len(valid) > 0:
		return valid
	case a.Status == acmestate.AcmeInvalid && len(failed) > 0:
		return failed
	}
	return all
}

// admitNames decides how each name of a new order is authorized: pre-approved
// names are valid at once; on a CHALLENGE endpoint the others are
// challenged (challenged[name]), on a PRE_APPROVED one they are refused.
// A wildcard needs dns-01.
func admitNames(tx localstore.Tx, ep *acmestate.Endpoint, names []string) (challenged map[string]bool, p *Problem, err error) {
	rest, err := unapproved(tx, ep, names)
	if err != nil || len(rest) == 0 {
		return nil, nil, err
	}
	if !ep.Challenges() {
		return nil, rejection(rest), nil
	}
	challenged = map[string]bool{}
	var sub []Subproblem
	for _, n := range rest {
		if len(ep.ChallengesFor(dnsname.Base(n), dnsname.IsWildcard(n))) == 0 {
			why := n + ": a wildcard needs dns-01, which this endpoint does not offer"
			if slices.Contains(ep.ChallengeTypes, validation.ChallengeDNS01) && !validation.DNS01Fits(dnsname.Base(n)) {
				why = n + ": only dns-01 could prove it here, and its record _acme-challenge." + dnsname.Base(n) + " would be longer than a DNS name may be (253 octets)"
			}
			sub = append(sub, Subproblem{Type: errRejectedIdentifier, Detail: why,
				Identifier: &acmestate.Identifier{Type: "dns", Value: n}})
		}
		challenged[n] = true
	}
	if len(sub) > 0 {
		p = problem(errRejectedIdentifier, http.StatusBadRequest, "names this endpoint cannot challenge: "+strings.Join(subNames(sub), ", "))
		p.Subproblems = sub
		return nil, p, nil
	}
	return challenged, nil, nil
}

// offer makes a, the authorization of name, pending with the challenges
// ep offers for it.
func offer(a *acmestate.Authz, ep *acmestate.Endpoint, name string, now time.Time) error {
	return acmestate.OfferChallenges(a, ep.ChallengesFor(dnsname.Base(name), dnsname.IsWildcard(name)), now)
}

// approveOrderOf re-checks, at finalize, that the names of o that no
// challenge proved (or all of them, on an endpoint switched to
// PRE_APPROVED) are still pre-approved, given the authorizations of o
// (orderAuthzs).
func approveOrderOf(tx localstore.Tx, ep *acmestate.Endpoint, o *acmestate.Order, authzs []*acmestate.Authz) (*Problem, error) {
	var names []string
	for i, a := range authzs {
		// A challenge proves a name while the endpoint takes challenges:
		// once switched to PRE_APPROVED, it issues for pre-approved names
		// only.
		if a != nil && a.ProvedByChallenge() && ep.Challenges() {
			continue
		}
		if i < len(o.Identifiers) {
			names = append(names, o.Identifiers[i].Value)
		}
	}
	return approve(tx, ep, names)
}

// handleChallenge answers a POST-as-GET of a challenge with its state, and
// a response ({}) by taking the challenge up for validation, checking it
// and answering with the outcome (RFC 8555 7.5.1). /chall/{id} is the one
// challenge of a pre-approved authorization, already valid;
// /chall/{id}/{type} the challenges of a CHALLENGE endpoint.
func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	// The authorization is read with the endpoint and account.
	var pre *readAuthz
	ep, req, ok := s.authenticateWith(w, r, needKID, false, readAuthzAhead(r, &pre))
	if !ok {
		return
	}
	if !req.PostAsGet && strings.TrimSpace(string(req.Payload)) != "{}" {
		var any map[string]any
		if p := decodePayload(req, &any); p != nil {
			writeProblem(w, p)
			return
		}
	}
	a, p := s.loadAuthzFrom(r, ep, req, pre)
	if p != nil {
		if req.PostAsGet {
			writeProblem(w, p)
			return
		}
		// A response to no challenge of the account's: refused, and
		// recorded.
		s.refused(w, r, req, "RespondToChallenge", p, s.endpointARN(ep.ID))
		return
	}
	typ := r.PathValue("type")
	if typ == "" && len(a.Challenges) > 0 || typ != "" && a.Challenge(typ) == nil {
		p := problem(errMalformed, http.StatusNotFound, "no such challenge")
		if req.PostAsGet {
			writeProblem(w, p)
			return
		}
		s.refused(w, r, req, "RespondToChallenge", p, s.endpointARN(ep.ID), acmestate.AuthzARN(s.core.Names, ep.ID, a.ID))
		return
	}
	w.Header().Add("Link", link(s.url(r, ep.ID, "/authz/"+a.ID), "up"))
	if typ == "" {
		writeJSON(w, http.StatusOK, s.challengeOf(r, a))
		return
	}
	if !req.PostAsGet {
		if a, p = s.respond(r.Context(), req.Account, a, typ); p != nil {
			writeProblem(w, p)
			return
		}
	}
	c := a.Challenge(typ)
	if c.Status == acmestate.AcmeProcessing {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, http.StatusOK, s.offeredJSON(r, a, c))
}

// changeIf is change for a change that may find nothing to do (see
// service.ChangeIf): then nothing is recorded.
func (s *Server) changeIf(ctx context.Context, accountID, eventName string, fn func(*service.Op) error) error {
	ctx, cancel := storeWait(ctx)
	defer cancel()
	_, err := s.as(accountID).ChangeIf(ctx, eventName, fn) // run again by the core after another process's key rotation
	return err
}

// respond takes challenge typ of a up for validation (RespondToChallenge:
// pending, or processing past its lease, becomes processing — in the
// store, so that of the servers sharing it exactly one validates), checks
// it and records the outcome (ValidateChallenge). A challenge that may not
// be taken up (valid, invalid, or being validated by another server) is
// answered as it is. One the endpoint, as it is now, no longer offers
// fails unchecked (see withdrawn).
func (s *Server) respond(ctx context.Context, acct *acmestate.Account, a *acmestate.Authz, typ string) (*acmestate.Authz, *Problem) {
	claimed := false
	var gone *acmestate.Problem
	err := s.changeIf(ctx, acct.ID, "RespondToChallenge", func(op *service.Op) error {
		claimed, gone = false, nil
		op.Resource(s.endpointARN(a.EndpointID), acmestate.AuthzARN(s.core.Names, a.EndpointID, a.ID))
		op.Param("Type", typ)
		op.Param("Identifier", a.Identifier.Value)
		cur, err := acmestate.ClaimChallenge(op.Tx, a.ID, typ, op.Now)
		if errors.Is(err, acmestate.ErrNotClaimed) {
			if p := unanswerable(cur, typ, op.Now); p != nil {
				// A pending challenge that would stay pending for
				// ever: its authorization is final.
				return refuse(p)
			}
			a = cur
			return service.ErrUnchanged
		}
		if err != nil {
			return err
		}
		// The endpoint as it is now decides: one switched to
		// PRE_APPROVED, or no longer offering typ, validates no more.
		ep, err := acmestate.Get(op.Tx, a.EndpointID)
		if err != nil {
			return err
		}
		a, claimed, gone = cur, true, withdrawn(ep, cur, typ)
		return nil
	})
	if err != nil {
		return nil, s.problemOf(err)
	}
	if !claimed {
		return a, nil
	}
	if gone != nil {
		return s.record(ctx, acct, a, typ, gone)
	}
	return s.validate(ctx, acct, a, typ)
}

// withdrawn is why ep, as it is now, will not validate challenge typ of a
// (switched to PRE_APPROVED, or no longer offering typ for a's name); nil
// when it will. The challenge then fails as a failed check does, its
// authorization and order invalid (RFC 8555 7.1.6), rather than being
// refused and left pending, which a client polls until it gives up
// (tester: golang.org/x/crypto/acme waited over a minute). The problem is
// the server's policy, not the account's fault: rejectedIdentifier (RFC
// 8555 6.7: the server will not issue for the identifier — on this
// authorization), as a new order of a name the endpoint cannot challenge
// is refused, not unauthorized.
func withdrawn(ep *acmestate.Endpoint, a *acmestate.Authz, typ string) *acmestate.Problem {
	offered := ep.ChallengesFor(a.Identifier.Value, a.Wildcard)
	if slices.Contains(offered, typ) {
		return nil
	}
	detail := "this endpoint no longer validates challenges: it issues for pre-approved domains only"
	if ep.Challenges() {
		detail = "this endpoint no longer offers " + typ + " challenges for " + a.Identifier.Value
		if len(offered) > 0 {
			detail += ": a new order is offered " + strings.Join(offered, ", ")
		}
	}
	return &acmestate.Problem{Type: errRejectedIdentifier, Detail: detail, Status: http.StatusBadRequest}
}

// unanswerable is the refusal of a response to challenge typ of a when the
// challenge is pending but a is not — invalid (another challenge failed),
// valid (another one succeeded), deactivated, revoked — or has expired:
// no validation will ever take it up (RFC 8555 7.1.6: those states are
// final). nil for every other challenge, which is answered as it is.
func unanswerable(a *acmestate.Authz, typ string, now time.Time) *Problem {
	c := a.Challenge(typ)
	if c == nil || c.Status != acmestate.AcmePending {
		return nil
	}
	st := a.Status
	if st == acmestate.AcmePending {
		if now.Before(a.Expires) {
			return nil
		}
		st = "expired"
	}
	return malformed("the authorization is " + st + ": its challenges can no longer be answered")
}

// validate checks challenge typ of a, which this server took up, for real
// and records the outcome (record). The check and its record outlive the
// client's request.
func (s *Server) validate(ctx context.Context, acct *acmestate.Account, a *acmestate.Authz, typ string) (*acmestate.Authz, *Problem) {
	ctx = context.WithoutCancel(ctx)
	c := a.Challenge(typ)
	var fail *acmestate.Problem
	if checker, err := s.checker(); err != nil {
		fail = &acmestate.Problem{Type: errPrefix + validation.ProblemDNS, Detail: err.Error(), Status: http.StatusBadRequest}
	} else {
		vctx, cancel := context.WithTimeout(ctx, ValidationTimeout)
		f := checker.Check(vctx, typ, a.Identifier.Value, a.Wildcard, c.Token, validation.KeyAuthorization(c.Token, acct.Thumbprint))
		cancel()
		if f != nil {
			fail = &acmestate.Problem{Type: errPrefix + f.Problem, Detail: f.Detail, Status: failureStatus(f.Problem)}
		}
	}
	return s.record(ctx, acct, a, typ, fail)
}

// record records the outcome of challenge typ of a, which this server took
// up (ValidateChallenge): with fail nil, the challenge and the
// authorization valid, the order ready once all its authorizations are;
// else all three invalid with fail in the challenge's error. The record
// outlives the client's request.
func (s *Server) record(ctx context.Context, acct *acmestate.Account, a *acmestate.Authz, typ string, fail *acmestate.Problem) (*acmestate.Authz, *Problem) {
	ctx = context.WithoutCancel(ctx)
	err := s.changeIf(ctx, acct.ID, "ValidateChallenge", func(op *service.Op) error {
		op.Resource(s.endpointARN(a.EndpointID), acmestate.AuthzARN(s.core.Names, a.EndpointID, a.ID))
		op.Param("Type", typ)
		op.Param("Identifier", a.Identifier.Value)
		cur, o, err := acmestate.RecordChallenge(op.Tx, a.ID, typ, fail, op.Now)
		if errors.Is(err, acmestate.ErrNotClaimed) {
			a = cur
			return service.ErrUnchanged
		}
		if err != nil {
			return err
		}
		if o != nil {
			op.Resource(s.orderARN(o))
		}
		op.Param("Status", cur.Challenge(typ).Status)
		if fail != nil {
			op.Param("Error", fail.Type)
			op.Param("Detail", fail.Detail)
			// Committed (the challenge, its authorization and order
			// invalid) and recorded as the FAILURE it is, with the ACME
			// error type as its code, as a refused request is (tester:
			// a failed validation read as a SUCCESS).
			op.Failed(strings.TrimPrefix(fail.Type, errPrefix), fail.Detail)
		}
		a = cur
		return nil
	})
	if err != nil {
		return nil, s.problemOf(err)
	}
	return a, nil
}

// failureStatus is the HTTP status of a challenge's problem document.
func failureStatus(problem string) int {
	switch problem {
	case validation.ProblemUnauthorized, validation.ProblemCAA:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// resumeStale takes up again, for the account polling a, a challenge of a
// whose validator vanished (processing past acmestate.ValidationLease: the
// server that took it up stopped), so that the client's poll finishes.
func (s *Server) resumeStale(ctx context.Context, acct *acmestate.Account, a *acmestate.Authz) (*acmestate.Authz, *Problem) {
	if a.Status != acmestate.AcmePending {
		return a, nil
	}
	now := s.core.Now()
	for _, c := range a.Challenges {
		if c.Status == acmestate.AcmeProcessing && !now.Before(c.UpdatedAt.Add(acmestate.ValidationLease)) {
			return s.respond(ctx, acct, a, c.Type)
		}
	}
	return a, nil
}

// checker is the configured challenge checker, else one over the system's
// resolvers and the default ports.
func (s *Server) checker() (*validation.ChallengeChecker, error) {
	if s.cfg.Challenges != nil {
		return s.cfg.Challenges, nil
	}
	r, err := validation.NewResolver(nil)
	if err != nil {
		return nil, err
	}
	return &validation.ChallengeChecker{Resolver: r}, nil
}
