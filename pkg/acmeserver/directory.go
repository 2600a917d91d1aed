package acmeserver

import (
	"net/http"

	"github.com/certctl/certctl/pkg/acmestate"
)

// directory is the RFC 8555 7.1.1 directory object.
type directory struct {
	NewNonce   string `json:"newNonce"`
	NewAccount string `json:"newAccount"`
	NewOrder   string `json:"newOrder"`
	RevokeCert string `json:"revokeCert"`
	KeyChange  string `json:"keyChange"`
	// RenewalInfo is the ACME Renewal Information resource (RFC 9773).
	RenewalInfo string        `json:"renewalInfo"`
	Meta        directoryMeta `json:"meta"`
}

type directoryMeta struct {
	ExternalAccountRequired bool   `json:"externalAccountRequired"`
	Website                 string `json:"website,omitempty"`
	// Profiles maps each profile name to its description (acme-profiles).
	Profiles map[string]string `json:"profiles"`
}

// profilesMeta is meta.profiles of ep: every built-in profile, ep's
// default described as such.
func profilesMeta(ep *acmestate.Endpoint) map[string]string {
	m := make(map[string]string, len(acmestate.Profiles))
	for _, p := range acmestate.Profiles {
		m[p.Name] = ep.DescribeProfile(p)
	}
	return m
}

func (s *Server) handleDirectory(w http.ResponseWriter, r *http.Request) {
	ep, p := s.endpointOf(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	u := func(path string) string { return s.url(r, ep.ID, path) }
	writeJSON(w, http.StatusOK, directory{
		NewNonce: u("/new-nonce"), NewAccount: u("/new-account"), NewOrder: u("/new-order"),
		RevokeCert: u("/revoke-cert"), KeyChange: u("/key-change"), RenewalInfo: u("/renewal-info"),
		Meta: directoryMeta{ExternalAccountRequired: true, Profiles: profilesMeta(ep)},
	})
}

// handleNewNonce answers HEAD (200) and GET (204); the nonce itself is set
// by ServeHTTP on every response.
func (s *Server) handleNewNonce(w http.ResponseWriter, r *http.Request) {
	if _, p := s.endpointOf(r); p != nil {
		writeProblem(w, p)
		return
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// postOnly are the resources read and changed by POST only (POST-as-GET for
// reads, RFC 8555 6.3).
var postOnly = []string{
	"/{ep}/new-account", "/{ep}/acct/{id}", "/{ep}/acct/{id}/orders", "/{ep}/key-change",
	"/{ep}/new-order", "/{ep}/order/{id}", "/{ep}/order/{id}/finalize", "/{ep}/authz/{id}",
	"/{ep}/chall/{id}", "/{ep}/chall/{id}/{type}", "/{ep}/cert/{id}", "/{ep}/revoke-cert",
}

// routeMethods adds the routes of RFC 8555 6.3 beside the resources' own:
// POST-as-GET on the directory and newNonce, and 405 with the methods a
// resource takes in Allow for any other method on it (GET or HEAD of a
// resource read by POST-as-GET; PUT, DELETE, … of any resource), which
// would otherwise fall through to the 404 of unknown paths.
func (s *Server) routeMethods(m *http.ServeMux) {
	m.HandleFunc("POST /{ep}/directory", s.handleDirectoryPost)
	m.HandleFunc("POST /{ep}/new-nonce", s.handleNewNoncePost)
	for _, p := range postOnly {
		m.HandleFunc(p, methodNotAllowed) // any method but POST
	}
	for _, p := range []string{"/{ep}/directory", "/{ep}/new-nonce"} {
		m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, &Problem{Type: errMalformed, Status: http.StatusMethodNotAllowed,
				Detail:  r.Method + " is not allowed here (RFC 8555 7.1)",
				headers: map[string]string{"Allow": "GET, HEAD, POST"}})
		})
	}
	// renewalInfo is read by a plain GET (RFC 9773 4.2): any other method
	// is 405, not the 404 of an unknown resource.
	m.HandleFunc("/{ep}/renewal-info/{certid}", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, &Problem{Type: errMalformed, Status: http.StatusMethodNotAllowed,
			Detail:  r.Method + " is not allowed here: read renewal information with GET (RFC 9773)",
			headers: map[string]string{"Allow": "GET, HEAD"}})
	})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	p := &Problem{Type: errMalformed, Status: http.StatusMethodNotAllowed,
		Detail:  r.Method + " is not allowed here: read this resource with POST-as-GET (RFC 8555 6.3)",
		headers: map[string]string{"Allow": http.MethodPost}}
	writeProblem(w, p)
}

// handleDirectoryPost answers a POST-as-GET of the directory (signed by an
// account, empty payload) as a GET.
func (s *Server) handleDirectoryPost(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.postAsGet(w, r); ok {
		s.handleDirectory(w, r)
	}
}

// handleNewNoncePost answers a POST-as-GET of newNonce with 200; the fresh
// nonce is set by ServeHTTP on every response.
func (s *Server) handleNewNoncePost(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.postAsGet(w, r); ok {
		w.WriteHeader(http.StatusOK)
	}
}
