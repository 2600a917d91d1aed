// Package endpoints is the ACME endpoints' service: endpoints, EAB credentials, pre-approved domains, and the changes the ACME server makes (accounts, orders, issuance, revocation).
package endpoints

import (
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the endpoints service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}
