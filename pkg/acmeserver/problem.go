package acmeserver

import (
	"github.com/certctl/certctl/pkg/acmestate"

	"encoding/json"
	"net/http"
)

// ACME error types (RFC 8555 section 6.7).
const (
	errPrefix                  = "urn:ietf:params:acme:error:"
	errAccountDoesNotExist     = errPrefix + "accountDoesNotExist"
	errAlreadyReplaced         = errPrefix + "alreadyReplaced" // RFC 9773
	errAlreadyRevoked          = errPrefix + "alreadyRevoked"
	errBadCSR                  = errPrefix + "badCSR"
	errBadNonce                = errPrefix + "badNonce"
	errBadPublicKey            = errPrefix + "badPublicKey"
	errBadRevocationReason     = errPrefix + "badRevocationReason"
	errBadSignatureAlgorithm   = errPrefix + "badSignatureAlgorithm"
	errExternalAccountRequired = errPrefix + "externalAccountRequired"
	errInvalidContact          = errPrefix + "invalidContact"
	errInvalidProfile          = errPrefix + "invalidProfile" // acme-profiles draft
	errMalformed               = errPrefix + "malformed"
	errOrderNotReady           = errPrefix + "orderNotReady"
	errRateLimited             = errPrefix + "rateLimited"
	errRejectedIdentifier      = errPrefix + "rejectedIdentifier"
	errServerInternal          = errPrefix + "serverInternal"
	errUnauthorized            = errPrefix + "unauthorized"
	errUnsupportedContact      = errPrefix + "unsupportedContact"
	errUnsupportedIdentifier   = errPrefix + "unsupportedIdentifier"
)

// Problem is an RFC 7807 problem document.
type Problem struct {
	Type        string            `json:"type"`
	Detail      string            `json:"detail,omitempty"`
	Status      int               `json:"status"`
	Subproblems []Subproblem      `json:"subproblems,omitempty"`
	Algorithms  []string          `json:"algorithms,omitempty"`
	headers     map[string]string `json:"-"`
}

// Subproblem is a problem about one identifier.
type Subproblem struct {
	Type       string                `json:"type"`
	Detail     string                `json:"detail,omitempty"`
	Identifier *acmestate.Identifier `json:"identifier,omitempty"`
}

func (p *Problem) Error() string { return p.Type + ": " + p.Detail }

func malformed(detail string) *Problem {
	return &Problem{Type: errMalformed, Status: http.StatusBadRequest, Detail: detail}
}

func unauthorized(detail string) *Problem {
	return &Problem{Type: errUnauthorized, Status: http.StatusForbidden, Detail: detail}
}

func problem(typ string, status int, detail string) *Problem {
	return &Problem{Type: typ, Status: status, Detail: detail}
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, v := range p.headers {
		w.Header().Set(k, v)
	}
	data, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(data)
}
