package acmeserver

import "net/http"

// directory is the RFC 8555 7.1.1 directory object.
type directory struct {
	NewNonce   string        `json:"newNonce"`
	NewAccount string        `json:"newAccount"`
	NewOrder   string        `json:"newOrder"`
	RevokeCert string        `json:"revokeCert"`
	KeyChange  string        `json:"keyChange"`
	Meta       directoryMeta `json:"meta"`
}

type directoryMeta struct {
	ExternalAccountRequired bool   `json:"externalAccountRequired"`
	Website                 string `json:"website,omitempty"`
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
		RevokeCert: u("/revoke-cert"), KeyChange: u("/key-change"),
		Meta: directoryMeta{ExternalAccountRequired: true},
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
