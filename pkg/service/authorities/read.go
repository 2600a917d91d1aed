package authorities

import (
	"context"
	"slices"
	"strings"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// ListInput selects a page of `ca list` (AWS Private CA's
// ListCertificateAuthorities).
type ListInput struct {
	// All includes the built-in public-style CAs.
	All bool
	// MaxItems, when positive, bounds the page; NextToken then continues
	// from StartingToken.
	MaxItems      int
	StartingToken string
}

// ListPage is one page of CAs, in the order of their IDs.
type ListPage struct {
	CertificateAuthorities []Description
	NextToken              string
}

// List describes the vault's CAs in the order of their IDs; the built-in
// public-style ones only with in.All. A page holds at most in.MaxItems
// (when positive), and its NextToken names the last CA on it: the next
// page starts after that ID, so that a CA created or deleted meanwhile
// moves no other one across the boundary.
func (s *Service) List(ctx context.Context, in ListInput) (*ListPage, error) {
	if in.MaxItems < 0 {
		return nil, errs.UsageErrorf("--max-items must be positive")
	}
	cur, err := inventory.DecodeCursor(in.StartingToken, inventory.CursorCAList, caListOrder, false)
	if err != nil {
		return nil, err
	}
	var recs []*authority.Record
	blocked := map[string]string{}
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if recs, err = authority.List(tx); err != nil {
			return err
		}
		for _, r := range recs {
			if blocked[r.ID], err = authority.SigningBlocked(tx, recs, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// The store lists by ID too, but in its own collation.
	slices.SortFunc(recs, func(a, b *authority.Record) int { return strings.Compare(a.ID, b.ID) })
	now := s.core.Now()
	page := &ListPage{CertificateAuthorities: []Description{}}
	lastID := ""
	for _, r := range recs {
		if !in.All && strings.HasPrefix(r.BuiltIn, "public") {
			continue
		}
		if cur != nil && r.ID <= cur.ID {
			continue
		}
		if in.MaxItems > 0 && len(page.CertificateAuthorities) == in.MaxItems {
			page.NextToken = inventory.EncodeCursor(inventory.Cursor{Kind: inventory.CursorCAList, SortBy: caListOrder, ID: lastID})
			break
		}
		page.CertificateAuthorities = append(page.CertificateAuthorities, s.describe(r, now, blocked[r.ID]))
		lastID = r.ID
	}
	return page, nil
}

// caListOrder is the one order of `ca list`, named in its tokens.
const caListOrder = "ID"

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
	var r *authority.Record
	var blocked string
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if r, err = authority.Find(tx, s.core.Names, ref); err != nil {
			return err
		}
		all, err := authority.List(tx)
		if err != nil {
			return err
		}
		blocked, err = authority.SigningBlocked(tx, all, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	d := s.describe(r, s.core.Now(), blocked)
	return &d, nil
}

// CSR returns the certificate signing request, as PEM, of the CA named by
// ref (GetCertificateAuthorityCsr): the one a PENDING_CERTIFICATE CA waits
// to have signed, or, for an ACTIVE or DISABLED CA, a new one signed by
// its key to renew its certificate in place (see ImportCertificate).
func (s *Service) CSR(ctx context.Context, ref string) (string, error) {
	var csr string
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, s.core.Names, ref)
		if err != nil {
			return err
		}
		csr, err = s.core.Authority.CSR(tx, r)
		return err
	})
	return csr, err
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
		var err error
		bundle, err = s.core.Authority.TrustBundle(op.Tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return bundle, nil
}
