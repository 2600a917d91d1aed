package request

import (
	"context"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// runIssued requests a domain-validated (ISSUED) certificate.
func runIssued(ctx context.Context, o *Options, names []string, tags []localstore.Tag, export, ct string) error {
	return errs.Refusedf("domain-validated (ISSUED) requests are not available in this build").
		WithHint("request a private certificate with --certificate-authority-arn default")
}
