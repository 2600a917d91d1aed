// Package reports is the reporting service: the event log, metrics, the dashboard and the account configuration.
package reports

import (
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the reports service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}
