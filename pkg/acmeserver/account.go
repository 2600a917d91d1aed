package acmeserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
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

func (s *Server) accountURL(r *http.Request, a *acmestate.Account) string {
	return s.url(r, a.EndpointID, "/acct/"+a.ID)
}

func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, status int, a *acmestate.Account) {
	w.Header().Set("Location", s.accountURL(r, a))
	writeJSON(w, status, accountJSON{Status: a.Status, Contact: a.Contact, Orders: s.accountURL(r, a) + "/orders"})
}

// maxContacts is how many contacts an account may have (Boulder's
// default limit).
const maxContacts = 10

// checkContacts accepts mailto: addresses only (the scheme in any case,
// RFC 3986 3.1); required demands one. It returns them as kept: the
// scheme in lower case, each address once, at most maxContacts.
func checkContacts(contacts []string, required bool) ([]string, *Problem) {
	if required && len(contacts) == 0 {
		return nil, problem(errInvalidContact, http.StatusBadRequest, "this endpoint requires a mailto: contact")
	}
	var kept []string
	for _, c := range contacts {
		scheme, addr, ok := strings.Cut(c, ":")
		if !ok || !strings.EqualFold(scheme, "mailto") {
			return nil, problem(errUnsupportedContact, http.StatusBadRequest, "only mailto: contacts are supported")
		}
		if strings.ContainsAny(addr, "?,\r\n ") || len(addr) > 254 {
			return nil, problem(errInvalidContact, http.StatusBadRequest, "contact "+quote(c)+" is not a single email address")
		}
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || !strings.Contains(addr, "@") || strings.Contains(addr, "%") {
			// A percent-encoded address (RFC 6068) would be kept
			// encoded, as another address than meant.
			return nil, problem(errInvalidContact, http.StatusBadRequest, "contact "+quote(c)+" is not a valid email address")
		}
		// The domain obeys the rules of a name in a certificate (no
		// single label, IP address, wildcard or public suffix), so that
		// mail to it can be delivered.
		domain := addr[strings.LastIndexByte(addr, '@')+1:]
		if err := dnsname.Validate(domain); err != nil || dnsname.IsWildcard(domain) {
			return nil, problem(errInvalidContact, http.StatusBadRequest, "contact "+quote(c)+" does not name a mail domain that can receive mail")
		}
		if c = "mailto:" + addr; !slices.Contains(kept, c) {
			kept = append(kept, c)
		}
	}
	if len(kept) > maxContacts {
		return nil, problem(errInvalidContact, http.StatusBadRequest, fmt.Sprintf("an account has at most %d contacts", maxContacts))
	}
	return kept, nil
}

// existingAccount stops a newAccount change that finds the key already
// bound to an account (a concurrent registration with the same key): no
// change, the account is answered as it is.
type existingAccount struct{ a *acmestate.Account }

func (e *existingAccount) Error() string { return "the key already has an account" }

// handleNewAccount registers an account (NewAccount) bound by an external
// account binding, or finds the account of the request's key. Finding it
// changes nothing and is not recorded.
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
	var existing *acmestate.Account
	if err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		existing, err = acmestate.AccountByKey(tx, ep.ID, tp)
		return err
	}); err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	if existing == nil && in.OnlyReturnExisting {
		writeProblem(w, problem(errAccountDoesNotExist, http.StatusBadRequest, "no account exists for this key"))
		return
	}
	if existing == nil {
		existing, err = s.newAccount(r, ep, req, &in, tp)
		var found *existingAccount
		switch {
		case errors.As(err, &found):
			existing = found.a
		case err != nil:
			writeProblem(w, s.problemOf(err))
			return
		default:
			s.writeAccount(w, r, http.StatusCreated, existing)
			return
		}
	}
	if existing.Status != acmestate.AcmeValid {
		writeProblem(w, unauthorized("the account of this key is "+existing.Status))
		return
	}
	s.writeAccount(w, r, http.StatusOK, existing)
}

// newAccount creates the account of the request's key (NewAccount, made by
// the new account; refused, by the key): the contacts the endpoint
// requires, and an external account binding that verifies and may still
// bind an account, which it then records.
func (s *Server) newAccount(r *http.Request, ep *acmestate.Endpoint, req *request, in *newAccountPayload, tp string) (*acmestate.Account, error) {
	jwk, err := req.Key.MarshalJSON()
	if err != nil {
		return nil, err
	}
	a := &acmestate.Account{ID: uuid.NewString(), EndpointID: ep.ID, Status: acmestate.AcmeValid,
		Contact: in.Contact, JWK: jwk, Thumbprint: tp}
	// Recorded as made by the key that asks ("jwk:<thumbprint>", as a
	// revocation by a certificate's key is) until the account exists: a
	// refused request names no account that never exists, and repeated
	// attempts of one key name the same actor.
	err = s.change(r.Context(), keyActor(tp), "NewAccount", func(op *service.Op) error {
		op.Resource(s.endpointARN(ep.ID))
		if len(in.Contact) > 0 {
			op.Param("Contact", in.Contact)
		}
		contacts, p := checkContacts(in.Contact, ep.Contact == acmestate.ContactRequired)
		if p != nil {
			return refuse(p)
		}
		a.Contact = contacts
		if len(in.ExternalAccountBinding) == 0 || string(in.ExternalAccountBinding) == "null" {
			return refuse(problem(errExternalAccountRequired, http.StatusBadRequest, "this endpoint requires an external account binding"))
		}
		other, err := acmestate.AccountByKey(op.Tx, ep.ID, tp)
		if err != nil {
			return err
		}
		if other != nil {
			return &existingAccount{a: other}
		}
		eab, p, err := s.checkEAB(op, op.Sealer(), ep, in.ExternalAccountBinding, req)
		if err != nil {
			return err
		}
		if p != nil {
			return refuse(p)
		}
		if err := s.admitAccount(op, ep.ID); err != nil {
			return err
		}
		a.CreatedAt, a.UpdatedAt = op.Now, op.Now
		eab.Accounts = append(eab.Accounts, a.ID)
		a.EABKeyID = eab.KeyID
		if err := acmestate.PutEAB(op.Tx, eab); err != nil {
			return err
		}
		if err := acmestate.PutAccount(op.Tx, a); err != nil {
			return err
		}
		op.Resource(s.accountARN(a))
		op.ActAs(a.ID)
		return acmestate.IndexAccountKey(op.Tx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

type accountUpdatePayload struct {
	Status  string    `json:"status"`
	Contact *[]string `json:"contact"`
}

// handleAccount reads the account (POST-as-GET), changes its contacts
// (UpdateAccount) or deactivates it (DeactivateAccount).
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	ep, req, ok := s.authenticate(w, r, needKID)
	if !ok {
		return
	}
	var in accountUpdatePayload
	var inP *Problem
	if !req.PostAsGet {
		inP = decodePayload(req, &in)
	}
	name := "UpdateAccount"
	if in.Status == acmestate.AcmeDeactivated {
		name = "DeactivateAccount"
	}
	if id := r.PathValue("id"); req.Account.ID != id {
		p := unauthorized("the request is not signed by this account")
		if req.PostAsGet || inP != nil {
			writeProblem(w, p)
			return
		}
		// A change of another account: refused, and recorded with the
		// account it was aimed at (when the URL names one's ID).
		resources := []string{s.endpointARN(ep.ID), s.accountARN(req.Account)}
		if _, err := uuid.Parse(id); err == nil {
			resources = append(resources, acmestate.AccountARN(s.core.Names, ep.ID, id))
		}
		s.refused(w, r, req, name, p, resources...)
		return
	}
	if req.PostAsGet {
		s.writeAccount(w, r, http.StatusOK, req.Account)
		return
	}
	if inP != nil {
		writeProblem(w, inP)
		return
	}
	if in.Status != "" && in.Status != acmestate.AcmeDeactivated && in.Status != acmestate.AcmeValid {
		s.refused(w, r, req, name, malformed("an account may only be deactivated by its holder"), s.endpointARN(ep.ID), s.accountARN(req.Account))
		return
	}
	var acct *acmestate.Account
	err := s.change(r.Context(), req.Account.ID, name, func(op *service.Op) error {
		op.Resource(s.endpointARN(ep.ID), s.accountARN(req.Account))
		if in.Status != "" {
			op.Param("Status", in.Status)
		}
		if in.Contact != nil {
			op.Param("Contact", *in.Contact)
			contacts, p := checkContacts(*in.Contact, ep.Contact == acmestate.ContactRequired)
			if p != nil {
				return refuse(p)
			}
			*in.Contact = contacts
		}
		a, err := acmestate.GetAccount(op.Tx, req.Account.ID)
		if err != nil {
			return err
		}
		if a.Status != acmestate.AcmeValid {
			return refuse(unauthorized("account is " + a.Status))
		}
		if in.Contact != nil {
			a.Contact = *in.Contact
		}
		if in.Status == acmestate.AcmeDeactivated {
			a.Status = acmestate.AcmeDeactivated
		}
		a.UpdatedAt = op.Now
		acct = a
		return acmestate.PutAccount(op.Tx, a)
	})
	if err != nil {
		writeProblem(w, s.problemOf(err))
		return
	}
	s.writeAccount(w, r, http.StatusOK, acct)
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
	var orders []*acmestate.Order
	err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		var err error
		orders, err = acmestate.ListOrders(tx, req.Account.ID)
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
		if o.Status == acmestate.AcmePending || o.Status == acmestate.AcmeReady || o.Status == acmestate.AcmeProcessing {
			out.Orders = append(out.Orders, s.url(r, ep.ID, "/order/"+o.ID))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
