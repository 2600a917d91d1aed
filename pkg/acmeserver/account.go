package acmeserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/localstore"
)

// accountJSON is the RFC 8555 7.1.2 account object.
type accountJSON struct {
	Status  string   `json:"status"`
	Contact []string `json:"contact,omitempty"`
	Orders  string   `json:"orders"`
	// ExternalAccountBinding echoes that the account is bound.
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding,omitempty"`
}

type newAccountPayload struct {
	Contact                []string        `json:"contact"`
	TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting     bool            `json:"onlyReturnExisting"`
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
}

func (s *Server) accountURL(r *http.Request, a *endpoint.Account) string {
	return s.url(r, a.EndpointID, "/acct/"+a.ID)
}

func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, status int, a *endpoint.Account) {
	w.Header().Set("Location", s.accountURL(r, a))
	writeJSON(w, status, accountJSON{Status: a.Status, Contact: a.Contact, Orders: s.accountURL(r, a) + "/orders"})
}

// checkContacts accepts mailto: addresses only; required demands one.
func checkContacts(contacts []string, required bool) *Problem {
	if required && len(contacts) == 0 {
		return problem(errInvalidContact, http.StatusBadRequest, "this endpoint requires a mailto: contact")
	}
	for _, c := range contacts {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return problem(errUnsupportedContact, http.StatusBadRequest, "only mailto: contacts are supported")
		}
		if strings.ContainsAny(addr, "?,\r\n ") || len(addr) > 254 {
			return problem(errInvalidContact, http.StatusBadRequest, "contact "+quote(c)+" is not a single email address")
		}
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || !strings.Contains(addr, "@") {
			return problem(errInvalidContact, http.StatusBadRequest, "contact "+quote(c)+" is not a valid email address")
		}
	}
	return nil
}

func (s *Server) handleNewAccount(w http.ResponseWriter, r *http.Request) {
	ep, req, ok := s.authenticate(w, r, needJWK)
	if !ok {
		return
	}
	var in newAccountPayload
	if p := decodePayload(req, &in); p != nil {
		writeProblem(w, p)
		return
	}
	tp, err := thumbprint(req.Key)
	if err != nil {
		writeProblem(w, malformed("cannot compute the jwk thumbprint"))
		return
	}
	if !in.OnlyReturnExisting {
		if p := checkContacts(in.Contact, ep.Contact == endpoint.ContactRequired); p != nil {
			writeProblem(w, p)
			return
		}
	}
	jwk, err := req.Key.MarshalJSON()
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	sealer, err := s.cfg.Vault.Sealer()
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	now := s.cfg.Now()
	var acct *endpoint.Account
	created := false
	var prob *Problem
	err = s.update(r.Context(), func(tx localstore.Tx) error {
		acct, created, prob = nil, false, nil
		existing, err := endpoint.AccountByKey(tx, ep.ID, tp)
		if err != nil {
			return err
		}
		if existing != nil {
			if existing.Status != endpoint.AcmeValid {
				prob = unauthorized("the account of this key is " + existing.Status)
				return nil
			}
			acct = existing
			return nil
		}
		if in.OnlyReturnExisting {
			prob = problem(errAccountDoesNotExist, http.StatusBadRequest, "no account exists for this key")
			return nil
		}
		if len(in.ExternalAccountBinding) == 0 || string(in.ExternalAccountBinding) == "null" {
			prob = problem(errExternalAccountRequired, http.StatusBadRequest, "this endpoint requires an external account binding")
			return nil
		}
		a := &endpoint.Account{ID: uuid.NewString(), EndpointID: ep.ID, Status: endpoint.AcmeValid,
			Contact: in.Contact, JWK: jwk, Thumbprint: tp, CreatedAt: now, UpdatedAt: now}
		eab, p := s.checkEAB(tx, sealer, ep, in.ExternalAccountBinding, req)
		if p != nil {
			prob = p
			return nil
		}
		eab.Accounts = append(eab.Accounts, a.ID)
		a.EABKeyID = eab.KeyID
		if err := endpoint.PutEAB(tx, eab); err != nil {
			return err
		}
		if err := endpoint.PutAccount(tx, a); err != nil {
			return err
		}
		if err := endpoint.IndexAccountKey(tx, a); err != nil {
			return err
		}
		acct, created = a, true
		return nil
	})
	switch {
	case err != nil:
		writeProblem(w, s.internal(err))
	case prob != nil:
		writeProblem(w, prob)
	case created:
		s.writeAccount(w, r, http.StatusCreated, acct)
	default:
		s.writeAccount(w, r, http.StatusOK, acct)
	}
}

type accountUpdatePayload struct {
	Status  string    `json:"status"`
	Contact *[]string `json:"contact"`
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	ep, req, ok := s.authenticate(w, r, needKID)
	if !ok {
		return
	}
	if req.Account.ID != r.PathValue("id") {
		writeProblem(w, unauthorized("the request is not signed by this account"))
		return
	}
	if req.PostAsGet {
		s.writeAccount(w, r, http.StatusOK, req.Account)
		return
	}
	var in accountUpdatePayload
	if p := decodePayload(req, &in); p != nil {
		writeProblem(w, p)
		return
	}
	if in.Status != "" && in.Status != endpoint.AcmeDeactivated && in.Status != endpoint.AcmeValid {
		writeProblem(w, malformed("an account may only be deactivated by its holder"))
		return
	}
	if in.Contact != nil {
		if p := checkContacts(*in.Contact, ep.Contact == endpoint.ContactRequired); p != nil {
			writeProblem(w, p)
			return
		}
	}
	var acct *endpoint.Account
	var prob *Problem
	err := s.update(r.Context(), func(tx localstore.Tx) error {
		prob = nil
		a, err := endpoint.GetAccount(tx, req.Account.ID)
		if err != nil {
			return err
		}
		if a.Status != endpoint.AcmeValid {
			prob = unauthorized("account is " + a.Status)
			return nil
		}
		if in.Contact != nil {
			a.Contact = *in.Contact
		}
		if in.Status == endpoint.AcmeDeactivated {
			a.Status = endpoint.AcmeDeactivated
		}
		a.UpdatedAt = s.cfg.Now()
		acct = a
		return endpoint.PutAccount(tx, a)
	})
	switch {
	case err != nil:
		writeProblem(w, s.internal(err))
	case prob != nil:
		writeProblem(w, prob)
	default:
		s.writeAccount(w, r, http.StatusOK, acct)
	}
}

// handleAccountOrders lists the URLs of the account's orders (7.1.2.1).
func (s *Server) handleAccountOrders(w http.ResponseWriter, r *http.Request) {
	ep, req, ok := s.authenticate(w, r, needKID)
	if !ok {
		return
	}
	if req.Account.ID != r.PathValue("id") {
		writeProblem(w, unauthorized("the request is not signed by this account"))
		return
	}
	if !req.PostAsGet {
		writeProblem(w, malformed("POST-as-GET requests must have an empty payload"))
		return
	}
	var orders []*endpoint.Order
	err := s.cfg.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		var err error
		orders, err = endpoint.ListOrders(tx, req.Account.ID)
		return err
	})
	if err != nil && !errors.Is(err, localstore.ErrNotFound) {
		writeProblem(w, s.internal(err))
		return
	}
	out := struct {
		Orders []string `json:"orders"`
	}{Orders: []string{}}
	for _, o := range orders {
		if o.Status == endpoint.AcmePending || o.Status == endpoint.AcmeReady || o.Status == endpoint.AcmeProcessing {
			out.Orders = append(out.Orders, s.url(r, ep.ID, "/order/"+o.ID))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
