// Package certificates is the certificate inventory's service: request,
// import, reimport, export, revoke, delete, tags, list, search and describe.
// The CLI and the ACME server call it; every change goes through
// service.Core, so it is one transaction with its events and audit record.
package certificates

import (
	"time"

	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/validations"
)

// Settings are the configuration the service acts on.
type Settings struct {
	// DomainsPerCertificate is the quota of names per requested
	// certificate (quotas.domains_per_certificate; 0: the default).
	DomainsPerCertificate int
	// CertificateValidity is how long requested certificates last
	// (certificate_validity).
	CertificateValidity time.Duration
	// Validations validates the names of ISSUED-type requests and sends
	// their approval mail.
	Validations *validations.Service
	// Outbox is where approval mail is written when no SMTP server is
	// configured ("" when one is).
	Outbox string
}

// Service is the certificate inventory.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// Core is the service core (names, clock) for callers that print ARNs.
func (s *Service) Core() *service.Core { return s.core }
