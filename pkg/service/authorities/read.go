package authorities

import (
	"context"
	"strings"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// List describes the vault's CAs; the built-in public-style ones only with
// all.
func (s *Service) List(ctx context.Context, all bool) ([]Description, error) {
	var recs []*authority.Record
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		recs, err = authority.List(tx)
		return err
	}); err != nil {
		return nil, err
	}
	now := s.core.Now()
	out := []Description{}
	for _, r := range recs {
		if !all && strings.HasPrefix(r.BuiltIn, "public") {
			continue
		}
		out = append(out, s.describe(r, now))
	}
	return out, nil
}

// find reads the CA named by ref; it only reads, so the default private
// CA must already exist.
func (s *Service) find(ctx context.Context, ref string) (*authority.Record, error) {
	var r *authority.Record
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		r, err = authority.Find(tx, s.core.Names, ref)
		return err
	})
	return r, err
}

// Describe describes the CA named by ref.
func (s *Service) Describe(ctx context.Context, ref string) (*Description, error) {
	r, err := s.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	d := s.describe(r, s.core.Now())
	return &d, nil
}

// CSR returns the certificate signing request, as PEM, of the CA named by
// ref, which waits for an external signature (PENDING_CERTIFICATE).
func (s *Service) CSR(ctx context.Context, ref string) (string, error) {
	r, err := s.find(ctx, ref)
	if err != nil {
		return "", err
	}
	if r.CSRPEM == "" {
		return "", errs.Refusedf("certificate authority %s is %s: it has no pending CSR", r.ID, r.Status).WithCode(authority.ReasonInvalidState)
	}
	return r.CSRPEM, nil
}

// TrustBundle returns the PEM of every root to trust for certificates of
// the vault: the built-in public-style root, the default private root and
// every ACTIVE root CA. It only reads once the built-in CAs exist; their
// creation on first use is a change (CreateCertificateAuthority, naming
// the CAs created).
func (s *Service) TrustBundle(ctx context.Context) ([]byte, error) {
	var bundle []byte
	ready := false
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if ready, err = authority.TrustBundleReady(tx); err != nil || !ready {
			return err
		}
		bundle, err = s.core.Authority.Roots(tx)
		return err
	}); err != nil || ready {
		return bundle, err
	}
	err := s.core.Change(ctx, "CreateCertificateAuthority", func(op *service.Op) error {
		op.Param("BuiltIn", true)
		return s.firstUse(op, true, func() error {
			var err error
			bundle, err = s.core.Authority.TrustBundle(op.Tx)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return bundle, nil
}
