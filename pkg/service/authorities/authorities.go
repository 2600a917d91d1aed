// Package authorities is the private CA service (the AWS Private CA analogue): creating, issuing from, revoking with, and managing the lifecycle of the vault's CAs.
package authorities

import (
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the authorities service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}
