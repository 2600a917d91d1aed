// Package auditlog is the service behind `certctl audit list` and `certctl audit verify`: reading the audit log and checking its HMAC chain.
package auditlog

import (
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the auditlog service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}
