package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/auditlog"
)

// AuditLog returns the auditlog service.
func (f *Factory) AuditLog(ctx context.Context) (*auditlog.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return auditlog.New(core, auditlog.Settings{}), nil
}
