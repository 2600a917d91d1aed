package certificates

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// TagCondition selects certificates by tag: the key, and the value when
// ValueGiven (else any value).
type TagCondition struct {
	Key, Value string
	ValueGiven bool
}

// ListInput is ACM's ListCertificates request, with certctl's extra
// filters. Empty lists do not filter; every list-valued filter holds when
// one of its values does, and the filters combine with AND.
type ListInput struct {
	Statuses      []string
	KeyAlgorithms []string
	Types         []string
	// Origins are key pair origins; ACME-origin certificates are left out
	// unless Origins names ACME, as in ACM.
	Origins     []string
	Eligibility []string
	Exportable  *bool
	InUse       *bool
	// ExpiringWithin, when set, keeps certificates whose NotAfter is
	// within that long from now (0: those already past it).
	ExpiringWithin *time.Duration
	// Domains are glob patterns matched against the domain name and SANs.
	Domains []string
	Tags    []TagCondition
	// KeyUsages and ExtendedKeyUsages keep certificates with one of
	// these usages (ACM's Includes: inventory.KeyUsageFilterNames and
	// ExtendedKeyUsageFilterNames).
	KeyUsages, ExtendedKeyUsages []string
	// SortBy is CREATED_AT, NOT_AFTER or DOMAIN_NAME.
	SortBy        string
	Descending    bool
	MaxItems      int
	StartingToken string
}

// ListPage is one page of a list: each certificate's summary as of AsOf
// (an ISSUED certificate past its NotAfter is EXPIRED and INELIGIBLE).
type ListPage struct {
	Certificates []inventory.Summary
	NextToken    string
	AsOf         time.Time
}

// query is the inventory query of in at now.
func (in ListInput) query(now time.Time) inventory.Query {
	q := inventory.Query{
		Filter: localstore.CertificateFilter{
			Statuses:      in.Statuses,
			KeyAlgorithms: in.KeyAlgorithms,
			Types:         in.Types,
			Origins:       in.Origins,
			Eligibility:   in.Eligibility,
			Exportable:    in.Exportable,
			InUse:         in.InUse,
			SortBy:        in.SortBy,
			Descending:    in.Descending,
		},
		Domains:           in.Domains,
		KeyUsages:         in.KeyUsages,
		ExtendedKeyUsages: in.ExtendedKeyUsages,
		MaxItems:          in.MaxItems,
		StartingToken:     in.StartingToken,
		Now:               now,
	}
	if in.ExpiringWithin != nil {
		q.Filter.NotAfterBefore = now.Add(*in.ExpiringWithin)
	}
	for _, t := range in.Tags {
		q.Tags = append(q.Tags, localstore.Tag{Key: t.Key, Value: t.Value})
		q.TagValueGiven = append(q.TagValueGiven, t.ValueGiven)
	}
	return q
}

// List lists the certificates that in selects, judged as of now.
func (s *Service) List(ctx context.Context, in ListInput) (*ListPage, error) {
	var all [][]inventory.Summary
	total := 0
	restart := func() error {
		// A store may run a read again (PostgreSQL, after a
		// serialization failure): collect afresh.
		all, total = nil, 0
		return nil
	}
	page, err := s.listEach(ctx, in, true, restart, func(block []inventory.Summary) error {
		all = append(all, block)
		total += len(block)
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.Certificates = make([]inventory.Summary, 0, total)
	for _, b := range all {
		page.Certificates = append(page.Certificates, b...)
	}
	return page, nil
}

// ListEach is List for a caller that prints as it reads: emit gets the
// page's summaries a block at a time, in order, while the list is read, so
// that a list of any length is never held whole. A block is reused once
// emit returns (inventory.EachSummary). The page it returns has
// NextToken and AsOf and no Certificates. An error of emit ends the list
// and is returned as it is (not as the vault's: a full disk under stdout
// is not an unavailable vault). A store that must run the read again
// after part of the list was handed out fails it (exit 1: a runtime
// failure, not an unavailable vault) rather than hand out a block twice.
func (s *Service) ListEach(ctx context.Context, in ListInput, emit func([]inventory.Summary) error) (*ListPage, error) {
	restart, once := service.EmitOnce(emit)
	return s.listEach(ctx, in, false, restart, once)
}

// listEach runs the list read, calling restart at the start of each run
// of it (a store may run a read more than once) and emit with each block,
// a new one each time when keep (inventory.EachSummary).
func (s *Service) listEach(ctx context.Context, in ListInput, keep bool, restart func() error, emit func([]inventory.Summary) error) (*ListPage, error) {
	now := s.core.Now()
	q := in.query(now)
	page := &ListPage{AsOf: now}
	var emitErr error
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		if err := restart(); err != nil {
			return err
		}
		emitErr = nil
		var err error
		page.NextToken, err = inventory.EachSummary(tx, q, s.core.Names, keep, func(block []inventory.Summary) error {
			emitErr = emit(block)
			return emitErr
		})
		return err
	})
	if emitErr != nil {
		return nil, emitErr
	}
	if err != nil {
		return nil, err
	}
	return page, nil
}
