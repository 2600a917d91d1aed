// Package renewals is managed renewal's service: the due pass (`renew --due`), renewing one certificate, and deploy targets.
package renewals

import (
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the renewals service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}
