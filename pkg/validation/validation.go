// Package validation proves control of the names of ISSUED-type certificate
// requests (SPEC section 4): a DNS CNAME record followed by a CAA check, an
// approval code mailed to the domain's administrative addresses, or a file
// fetched over HTTP. It holds the per-name state machine (PENDING_VALIDATION
// → SUCCESS or FAILED, 72-hour timeout) and issues the certificate from the
// vault's built-in public-style CA once every name is validated.
//
// Network work and changes are kept apart. CheckPending and Recheck
// query DNS and HTTP outside any transaction and store nothing; the
// functions that change the vault — Prepare, ApplyChecks, Approve, Resend,
// StartEmailRenewal — take the caller's transaction (localstore.Tx) and
// never open one: the validations service (pkg/service/validations) runs
// them inside its recorded changes (service.Core.Change), so that each is
// one transaction with its events and its audit record. Only HTTPHandler,
// the `validate serve-http` handler, reads the store by itself.
//
// It is a domain package: no cobra, no terminal. The clock is injected.
package validation

import (
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
)

// Validation methods.
const (
	MethodDNS   = "DNS"
	MethodEmail = "EMAIL"
	MethodHTTP  = "HTTP"
)

// Methods lists the validation methods.
var Methods = []string{MethodDNS, MethodEmail, MethodHTTP}

// Per-name validation statuses (ACM's ValidationStatus).
const (
	StatusPending  = "PENDING_VALIDATION"
	StatusSuccess  = "SUCCESS"
	StatusFailed   = "FAILED"
	StatusTimedOut = "VALIDATION_TIMED_OUT"
)

// ReasonCAA is the FailureReason of a certificate whose issuance a CAA
// record forbids.
const ReasonCAA = "CAA_ERROR"

// ReasonNoContacts is the FailureReason of an EMAIL-validated request a
// name of which has no address that can receive validation email.
const ReasonNoContacts = "NO_AVAILABLE_CONTACTS"

// ReasonOther is the FailureReason of a certificate a name of which failed
// validation for another reason (a CNAME chain longer than MaxCNAMEChain).
const ReasonOther = "OTHER"

// Timeout is how long a name may stay unvalidated before the certificate
// moves to VALIDATION_TIMED_OUT; approval codes expire after it as well.
const Timeout = 72 * time.Hour

// MaxCNAMEChain is the longest CNAME chain followed from a validation
// record to its expected target.
const MaxCNAMEChain = 5

// Settings are the validation settings of SPEC section 3.
type Settings struct {
	// Resolvers are host:port DNS servers; empty means the system's.
	Resolvers []string
	// Zone is the zone the validation CNAMEs point into.
	Zone string
	// HTTPBaseURL is where `validate serve-http` content is published.
	HTTPBaseURL string
	// HTTPPort is the port RedirectFrom URLs are fetched on.
	HTTPPort int
	// CAAIdentities are the issuer domain names this vault's CA answers to.
	CAAIdentities []string
	// Validity of issued certificates.
	Validity time.Duration
}

// Service holds the validation rules and their settings (the validations
// service builds it). It never opens a transaction for a change.
type Service struct {
	// Vault seals the keys of the certificates it issues.
	Vault     *localstore.Vault
	Authority *authority.Service
	Settings  Settings
	// Mailer delivers approval messages (SMTP or the outbox).
	Mailer Mailer
	// Now is the clock.
	Now func() time.Time
	// ARN names a certificate ID.
	ARN func(id string) string
	// Resolver answers DNS queries; nil builds one from Settings.Resolvers.
	Resolver *Resolver
	// Requester is recorded with each certificate issued (see
	// authority.Requester).
	Requester string
}

func (s *Service) resolver() (*Resolver, error) {
	if s.Resolver != nil {
		return s.Resolver, nil
	}
	r, err := NewResolver(s.Settings.Resolvers)
	if err != nil {
		return nil, err
	}
	s.Resolver = r
	return r, nil
}
