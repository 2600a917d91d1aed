package acmeserver

import (
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/service"
)

type keyChangePayload struct {
	Account string          `json:"account"`
	OldKey  jose.JSONWebKey `json:"oldKey"`
}

// handleKeyChange rolls an account over to a new key (RFC 8555 7.3.5;
// KeyChange): the outer JWS is signed by the account, the inner one by the
// new key over {account, oldKey}. A new key already bound to an account
// gives 409 with that account's URL in Location.
func (s *Server) handleKeyChange(w http.ResponseWriter, r *http.Request) {
	ep, p := s.endpointOf(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	outer, p := s.verify(w, r, ep, needKID)
	if p != nil {
		writeProblem(w, p)
		return
	}
	inner, h, p := parseJWS(outer.Payload)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if h.URL != outer.URL {
		writeProblem(w, malformed("inner JWS url does not match the outer JWS url"))
		return
	}
	if h.HasNonce {
		// RFC 8555 7.3.5: what tells a key change's inner JWS from an
		// ordinary request signed with the new key.
		writeProblem(w, malformed("inner JWS must not carry a nonce"))
		return
	}
	if h.Kid != "" || inner.Signatures[0].Protected.JSONWebKey == nil {
		writeProblem(w, malformed("inner JWS must carry the new key as jwk and no kid"))
		return
	}
	newKey := inner.Signatures[0].Protected.JSONWebKey
	if p := checkAccountKey(newKey); p != nil {
		writeProblem(w, p)
		return
	}
	if p := checkKeyAlgorithm(newKey, h.Alg); p != nil {
		writeProblem(w, p)
		return
	}
	payload, err := inner.Verify(newKey)
	if err != nil {
		writeProblem(w, malformed("inner JWS signature does not verify"))
		return
	}
	var in keyChangePayload
	if p := decodePayload(&request{Payload: payload}, &in); p != nil {
		writeProblem(w, p)
		return
	}
	// Both keys proved, the rules refuse: recorded (refused).
	resources := []string{s.endpointARN(ep.ID), s.accountARN(outer.Account)}
	if in.Account != s.accountURL(r, outer.Account) {
		// Recorded with the account it named, when the URL is one of
		// this endpoint's (review: a key change naming another account
		// did not say which, and the refusals naming two were one).
		if id, ok := strings.CutPrefix(in.Account, s.url(r, ep.ID, "/acct/")); ok {
			if _, err := uuid.Parse(id); err == nil {
				resources = append(resources, acmestate.AccountARN(s.core.Names, ep.ID, id))
			}
		}
		s.refused(w, r, outer, "KeyChange", unauthorized("inner JWS account does not match the signing account"), resources...)
		return
	}
	oldTP, err1 := thumbprint(&in.OldKey)
	newTP, err2 := thumbprint(newKey)
	if err1 != nil || err2 != nil || oldTP != outer.Account.Thumbprint {
		s.refused(w, r, outer, "KeyChange", unauthorized("oldKey is not the account's current key"), resources...)
		return
	}
	newJWK, err := newKey.MarshalJSON()
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	var acct *acmestate.Account
	err = s.change(r.Context(), outer.Account.ID, "KeyChange", func(op *service.Op) error {
		op.Resource(s.endpointARN(ep.ID), s.accountARN(outer.Account))
		// Which key the account moved from and to, by their RFC 7638
		// thumbprints (public; tester: the record said nothing of
		// either, where Boulder logs both).
		op.Param("OldKeyThumbprint", oldTP)
		op.Param("NewKeyThumbprint", newTP)
		other, err := acmestate.AccountByKey(op.Tx, ep.ID, newTP)
		if err != nil {
			return err
		}
		if other != nil {
			p := problem(errMalformed, http.StatusConflict, "the new key is already in use by an account")
			p.headers = map[string]string{"Location": s.accountURL(r, other)}
			return refuse(p)
		}
		a, err := acmestate.GetAccount(op.Tx, outer.Account.ID)
		if err != nil {
			return err
		}
		if a.Status != acmestate.AcmeValid || a.Thumbprint != oldTP {
			return refuse(unauthorized("the account changed while rolling its key over"))
		}
		if err := acmestate.UnindexAccountKey(op.Tx, ep.ID, a.Thumbprint); err != nil {
			return err
		}
		a.JWK, a.Thumbprint, a.UpdatedAt = newJWK, newTP, op.Now
		if err := acmestate.PutAccount(op.Tx, a); err != nil {
			return err
		}
		acct = a
		return acmestate.IndexAccountKey(op.Tx, a)
	})
	if err != nil {
		writeProblem(w, s.problemOf(err))
		return
	}
	s.writeAccount(w, r, http.StatusOK, acct)
}
