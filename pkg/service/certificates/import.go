package certificates

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// ImportRequest is what `certctl import` takes: the material as read from
// the user's files, and the new certificate's tags.
type ImportRequest struct {
	Material inventory.RawMaterial
	// Tags are --tags values: Key=K,Value=V or K=V.
	Tags []string
}

// Import adds the material as an IMPORTED certificate (ImportCertificate)
// and returns its ARN. The material is parsed and checked by ACM's rules
// before the transaction begins, so that no write waits on the parsing; a
// refusal is recorded all the same.
func (s *Service) Import(ctx context.Context, req ImportRequest) (string, error) {
	given, err := inventory.ParseTags(req.Tags)
	if err != nil {
		return "", err
	}
	p := parseImport(req.Material, given, s.core.Now())
	return s.storeImported(ctx, p, func(op *service.Op) {
		materialParams(op, req.Material)
		if len(given) > 0 {
			op.Param("Tags", given)
		}
	})
}

// parsedImport is import material parsed and checked, with the record of
// the certificate it makes (not stored yet), or the rule it broke.
type parsedImport struct {
	c   *localstore.Certificate
	m   *inventory.Material
	now time.Time
	err error
}

// parseImport checks tags and material by ACM's rules at now.
func parseImport(raw inventory.RawMaterial, given []localstore.Tag, now time.Time) parsedImport {
	p := parsedImport{now: now}
	tags, err := inventory.MergeTags(nil, given)
	if err != nil {
		p.err = err
		return p
	}
	if p.m, p.err = inventory.ParseMaterial(raw, now); p.err != nil {
		return p
	}
	p.c, p.err = inventory.NewImported(p.m, tags, now)
	return p
}

// storeImported records the import of p as one ImportCertificate change:
// the certificate, its version, its sealed key and its Certificate
// Available event, or p's refusal. params names the request.
func (s *Service) storeImported(ctx context.Context, p parsedImport, params func(*service.Op)) (string, error) {
	var arn string
	if err := s.core.Change(ctx, "ImportCertificate", s.importChange(p, params, &arn)); err != nil {
		return "", err
	}
	return arn, nil
}

// importChange is the change that stores one parsed import; it sets *arn.
func (s *Service) importChange(p parsedImport, params func(*service.Op), arn *string) func(*service.Op) error {
	return func(op *service.Op) error {
		params(op)
		if p.err != nil {
			return p.err
		}
		*arn = s.core.Names.CertificateARN(p.c.ID)
		op.Resource(*arn)
		op.Param("DomainName", p.c.DomainName)
		if err := inventory.StoreImported(op.Tx, s.core.Vault, p.c, p.m, p.now); err != nil {
			return err
		}
		return op.Events.EmitAvailable(op.Tx, p.c, events.ActionImport)
	}
}

// materialParams records which files the material came from — their
// names, never their content, and nothing of the private key.
func materialParams(op *service.Op, raw inventory.RawMaterial) {
	for _, p := range []struct{ name, file string }{
		{"Certificate", raw.CertificateFile},
		{"CertificateChain", raw.ChainFile},
		{"Bundle", raw.BundleFile},
	} {
		if p.file != "" {
			op.Param(p.name, p.file)
		}
	}
}
