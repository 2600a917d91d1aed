package certificates

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/search"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// SearchInput is ACM's SearchCertificates request: a filter statement in
// ACM's JSON grammar or a terse one-line query (at most one of them;
// neither selects every certificate).
type SearchInput struct {
	FilterStatement []byte
	Query           string
	MaxItems        int
	StartingToken   string
	// SortBy is one of SearchSortKeys ("": CREATED_AT, newest first);
	// SortOrder is ASCENDING or DESCENDING ("": DESCENDING for CREATED_AT,
	// else ASCENDING).
	SortBy, SortOrder string
}

// Name is an X.509 subject in search results.
type Name struct {
	CommonName string `json:"CommonName,omitempty"`
	Rendered   string `json:"DistinguishedName,omitempty"`
}

// X509Attributes are a result's certificate attributes.
type X509Attributes struct {
	Subject                 Name                 `json:"Subject"`
	Issuer                  string               `json:"Issuer,omitempty"`
	SubjectAlternativeNames []map[string]string  `json:"SubjectAlternativeNames"`
	KeyAlgorithm            string               `json:"KeyAlgorithm"`
	KeyUsages               []string             `json:"KeyUsages"`
	ExtendedKeyUsages       []string             `json:"ExtendedKeyUsages"`
	SerialNumber            string               `json:"SerialNumber,omitempty"`
	NotBefore               *inventory.Timestamp `json:"NotBefore,omitempty"`
	NotAfter                *inventory.Timestamp `json:"NotAfter,omitempty"`
}

// Metadata is a result's certctl (ACM) metadata.
type Metadata struct {
	Status                   string               `json:"Status"`
	Type                     string               `json:"Type"`
	CertificateKeyPairOrigin string               `json:"CertificateKeyPairOrigin"`
	RenewalStatus            string               `json:"RenewalStatus,omitempty"`
	RenewalEligibility       string               `json:"RenewalEligibility"`
	InUse                    bool                 `json:"InUse"`
	Exported                 bool                 `json:"Exported"`
	ExportOption             string               `json:"ExportOption"`
	ValidationMethod         string               `json:"ValidationMethod,omitempty"`
	CertificateAuthorityArn  string               `json:"CertificateAuthorityArn,omitempty"`
	AcmeEndpointArn          string               `json:"AcmeEndpointArn,omitempty"`
	AcmeAccountId            string               `json:"AcmeAccountId,omitempty"`
	CreatedAt                *inventory.Timestamp `json:"CreatedAt,omitempty"`
	IssuedAt                 *inventory.Timestamp `json:"IssuedAt,omitempty"`
	ImportedAt               *inventory.Timestamp `json:"ImportedAt,omitempty"`
	RevokedAt                *inventory.Timestamp `json:"RevokedAt,omitempty"`
}

// SearchResult is one search result.
type SearchResult struct {
	CertificateArn      string         `json:"CertificateArn"`
	X509Attributes      X509Attributes `json:"X509Attributes"`
	CertificateMetadata Metadata       `json:"CertificateMetadata"`
}

// SearchPage is one page of search results, newest certificate first,
// judged as of AsOf.
type SearchPage struct {
	Results   []SearchResult
	NextToken string
	AsOf      time.Time
}

// Statement parses in's filter statement or terse query at now: nil when
// in has neither (every certificate). A malformed one is invalid (exit 4).
func (in SearchInput) Statement(now time.Time) (*search.Statement, error) {
	switch {
	case len(in.FilterStatement) > 0 && in.Query != "":
		return nil, errs.UsageErrorf("give either a query or a filter statement, not both")
	case len(in.FilterStatement) > 0:
		st, err := search.Parse(in.FilterStatement)
		if err != nil {
			return nil, errs.Invalidf("%v", err)
		}
		return st, nil
	case in.Query != "":
		st, err := search.ParseTerse(in.Query, now)
		var te *search.TermError
		if errors.As(err, &te) {
			return nil, errs.Invalidf("%v", err).WithHint("the terms: %s", search.TerseHelp)
		}
		if err != nil {
			return nil, errs.Invalidf("%v", err)
		}
		return st, nil
	}
	return nil, nil
}

// Search returns the certificates of every origin, ACME ones included,
// that in's statement selects, in in's order (newest first by default).
// Status, renewal eligibility and relative times are judged as of now, as
// list and describe judge them: an ISSUED certificate past its NotAfter is
// EXPIRED. Pages are cut from one total order (ties broken by ARN), so
// that walking the NextTokens visits every match once.
func (s *Service) Search(ctx context.Context, in SearchInput) (*SearchPage, error) {
	var results []SearchResult
	out, err := s.search(ctx, in, func() error { results = []SearchResult{}; return nil }, func(block []SearchResult) error {
		results = append(results, block...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Results = results
	return out, nil
}

// SearchEach is Search for a caller that prints as it reads: emit gets the
// page's results in order, a thousand at a time, so that a search of every
// certificate is never held whole (tester: `search -o yaml` of 100,000
// took 8 GB). The page it returns has NextToken and AsOf and no Results.
// An error of emit ends the search and is returned as it is; a store that
// must run the read again after part of the results was handed out fails
// it (service.EmitOnce) rather than hand results out twice.
func (s *Service) SearchEach(ctx context.Context, in SearchInput, emit func([]SearchResult) error) (*SearchPage, error) {
	restart, once := service.EmitOnce(emit)
	var emitErr error
	out, err := s.search(ctx, in, func() error { emitErr = nil; return restart() }, func(block []SearchResult) error {
		emitErr = once(block)
		return emitErr
	})
	if emitErr != nil {
		return nil, emitErr
	}
	return out, err
}

// search runs the search of in, calling restart at the start of each run
// of its read (a store may run a read more than once) and emit with the
// page's results, in order, in blocks.
func (s *Service) search(ctx context.Context, in SearchInput, restart func() error, emit func([]SearchResult) error) (*SearchPage, error) {
	if in.MaxItems < 0 {
		return nil, errs.UsageErrorf("--max-items must be positive")
	}
	order, err := sortOrder(in.SortBy, in.SortOrder)
	if err != nil {
		return nil, err
	}
	now := s.core.Now()
	stmt, err := in.Statement(now)
	if err != nil {
		return nil, err
	}
	cur, err := inventory.DecodeCursor(in.StartingToken, inventory.CursorSearch, order.by, order.desc)
	if err != nil {
		return nil, err
	}
	out := &SearchPage{AsOf: now}
	err = s.core.Read(ctx, func(tx localstore.Tx) error {
		out.NextToken = "" // a read may run again
		if err := restart(); err != nil {
			return err
		}
		hits, err := s.match(tx, stmt, order, cur, in.MaxItems, now)
		if err != nil {
			return err
		}
		if in.MaxItems > 0 && len(hits) > in.MaxItems {
			hits = hits[:in.MaxItems]
			last := hits[len(hits)-1]
			out.NextToken = inventory.EncodeCursor(order.cursor(last.key, last.arn))
		}
		return s.results(tx, hits, now, emit)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hit is a certificate a search selected: what places it in the search's
// order, copied out of the block it was read in (blocks are reused).
type hit struct {
	id, arn string
	key     sortValue
}

// maxNarrowIDs bounds the IDs a search looks up by key; a statement naming
// more certificates reads the inventory (SQLite binds at most 32,766
// values a statement).
const maxNarrowIDs = 1000

// narrowed resolves stmt's references in tx and returns the store filter
// of the certificates it can select (search.Narrowing), newest first, or
// none when it selects none.
func (s *Service) narrowed(tx localstore.Tx, stmt *search.Statement) (localstore.CertificateFilter, bool, error) {
	if err := s.resolve(tx, stmt); err != nil {
		return localstore.CertificateFilter{}, false, err
	}
	n := stmt.Narrow()
	if n.None() {
		// Checked first: to the store an empty set is no filter.
		return localstore.CertificateFilter{}, true, nil
	}
	if len(n.IDs) > maxNarrowIDs {
		n.IDs = nil // read everything rather than bind that many values
	}
	return localstore.CertificateFilter{IDs: n.IDs, Types: n.Types, KeyAlgorithms: n.KeyAlgorithms, Statuses: n.Statuses,
		Origins: inventory.Origins, SortBy: "CREATED_AT", Descending: true}, false, nil
}

// wholeBlock is how many whole records a search that needs them decodes at
// once.
const wholeBlock = 256

// summaryBlock is how many summaries a search asks the store for at once:
// a query with a limit, so that a page that stops early stops the store's
// scan too (review: pgx reads a closed query's rows to their end, and
// PostgreSQL sent the whole table for a first page).
var summaryBlock = 1024 // a variable for tests

// maxKeep bounds the hits a search keeps: a larger --max-items is a page
// of every match.
const maxKeep = 1 << 30

// errPageFound ends the read of a search whose page is complete.
var errPageFound = errors.New("page found")

// match returns the first max+1 certificates (every one when max is 0) of
// every origin that stmt selects (every one when stmt is nil) after cur,
// as of now, in order o. The store reads only the certificates stmt can
// select by what it keeps (search.Narrowing: a search by ARN looks its
// certificates up), and of those their summaries, unless stmt or o needs
// more; stmt judges each of them, and what it selects is kept only while
// it may be among the first max+1 (tester: every page of a search decoded
// and held the whole vault). In the store's order the read stops once no
// certificate left can be.
func (s *Service) match(tx localstore.Tx, stmt *search.Statement, o searchOrder, cur *inventory.Cursor, max int, now time.Time) ([]hit, error) {
	f, none, err := s.narrowed(tx, stmt)
	if err != nil || none {
		return nil, err
	}
	tags, record := stmt.Reads()
	f.NoTags = !tags
	if cur != nil && o.storeOrder() {
		// Start at the cursor's time: those created then come in ARN
		// order, not the store's, and are judged again.
		if at := timeutil.UnixNano(cur.At); at < math.MaxInt64 {
			f.After = &localstore.Position{Key: at + 1}
		}
	}
	keep := max + 1
	if max == 0 || max >= maxKeep {
		// Every one: a page that large holds them all (review:
		// --max-items 2^62 overflowed 2*keep and panicked).
		keep = 0
	}
	var hits []hit
	var lastAt int64 // the store's key of the last hit
	err = readCertificates(tx, f, record || o.needsRecord(), func(block []*localstore.Certificate) error {
		for _, c := range block {
			at := timeutil.UnixNano(c.CreatedAt)
			if o.storeOrder() && keep > 0 && len(hits) >= keep && at < lastAt {
				// keep hits, each created after c: none left comes
				// before them.
				return errPageFound
			}
			inventory.AsOf(c, now)
			x := s.subject(c)
			if stmt != nil && !stmt.Match(&x) {
				continue
			}
			h := hit{id: strings.Clone(c.ID), arn: x.CertificateArn, key: sortKey(o.by, &x)}
			h.key.s = strings.Clone(h.key.s)
			if cur != nil && !o.after(cur, h) {
				continue
			}
			hits, lastAt = append(hits, h), at
			if keep > 0 && len(hits) >= 2*keep {
				o.sort(hits)
				hits = hits[:keep]
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFound) {
		return nil, err
	}
	o.sort(hits)
	if keep > 0 && len(hits) > keep {
		hits = hits[:keep]
	}
	return hits, nil
}

// readCertificates hands judge the certificates f selects, in f's order, a
// block at a time, until judge fails: their summaries, or with whole
// their whole records, read a block at a time (a keyset page of the
// store each), so that no more than a block is ever decoded at once.
// Blocks are reused once judge returns.
func readCertificates(tx localstore.Tx, f localstore.CertificateFilter, whole bool, judge func([]*localstore.Certificate) error) error {
	if !whole {
		f.Limit = summaryBlock
		for {
			n := 0
			var last localstore.Position
			if err := tx.ScanCertificateSummaries(f, true, func(block []*localstore.Certificate) error {
				if len(block) > 0 {
					n += len(block)
					last = localstore.PositionOf(block[len(block)-1], f.SortBy) // before judge: blocks are reused
				}
				return judge(block)
			}); err != nil {
				return err
			}
			if n < f.Limit {
				return nil
			}
			f.After = &last
		}
	}
	f.Limit = wholeBlock
	for {
		block, err := tx.ListCertificates(f)
		if err != nil {
			return err
		}
		if err := judge(block); err != nil {
			return err
		}
		if len(block) < f.Limit {
			return nil
		}
		p := localstore.PositionOf(block[len(block)-1], f.SortBy)
		f.After = &p
	}
}

// subject is what a statement judges of c (a summary or a whole record).
func (s *Service) subject(c *localstore.Certificate) search.Subject {
	return search.Subject{Cert: c, CertificateArn: s.core.Names.CertificateARN(c.ID),
		CertificateAuthorityArn: s.core.Names.CAARN(c.CertificateAuthorityID), AcmeEndpointArn: s.core.Names.EndpointARN(c.AcmeEndpointID),
		ExportOption: inventory.ExportOptionOf(c)}
}

// results emits the search results of hits, as of now: their whole
// records are read only now, a thousand at a time, each thousand emitted
// before the next is read.
func (s *Service) results(tx localstore.Tx, hits []hit, now time.Time, emit func([]SearchResult) error) error {
	for start := 0; start < len(hits); start += maxNarrowIDs {
		chunk := hits[start:min(start+maxNarrowIDs, len(hits))]
		ids := make([]string, len(chunk))
		for i, h := range chunk {
			ids[i] = h.id
		}
		certs, err := tx.ListCertificates(localstore.CertificateFilter{IDs: ids})
		if err != nil {
			return err
		}
		byID := make(map[string]*localstore.Certificate, len(certs))
		for _, c := range certs {
			byID[c.ID] = c
		}
		out := make([]SearchResult, 0, len(chunk))
		for _, h := range chunk {
			c := byID[h.id]
			if c == nil {
				return fmt.Errorf("%w: certificate %s vanished during a search", localstore.ErrCorrupt, h.id)
			}
			inventory.AsOf(c, now)
			x := s.subject(c)
			out = append(out, searchResult(c, inventory.NewSummary(s.core.Names, c), &x))
		}
		if err := emit(out); err != nil {
			return err
		}
	}
	return nil
}

// resolve makes the certificate, CA and endpoint references of stmt IDs
// (search.Statement.Resolve).
func (s *Service) resolve(tx localstore.Tx, stmt *search.Statement) error {
	return stmt.Resolve(func(kind, ref string) (string, error) {
		var id string
		var err error
		switch kind {
		case "certificate":
			id, err = inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Describing)
		case "ca":
			var r *authority.Record
			if r, err = authority.Find(tx, s.core.Names, ref); err == nil {
				id = r.ID
			}
		default:
			var e *acmestate.Endpoint
			if e, err = acmestate.Resolve(tx, s.core.Names, ref); err == nil {
				id = e.ID
			}
		}
		if errs.ExitCodeOf(err) == errs.ExitNotFound {
			// A whole UUID or ARN of this vault names what it names
			// even when that is gone: the certificates an endpoint
			// issued outlive it (endpoint delete), and stay
			// selectable by it (review); a certificate deleted
			// meanwhile matches nothing.
			arnKind := arn.AcmeEndpoint
			switch kind {
			case "certificate":
				arnKind = arn.Certificate
			case "ca":
				arnKind = arn.CertificateAuthority
			}
			if r, ierr := s.core.Names.IDOf(arnKind, kind, ref); ierr == nil && r.Exact {
				return r.ID, nil
			}
		}
		return id, err
	})
}

func searchResult(c *localstore.Certificate, d inventory.Summary, x *search.Subject) SearchResult {
	sans := make([]map[string]string, 0, len(c.SubjectAlternativeNames))
	for _, n := range c.SubjectAlternativeNames {
		sans = append(sans, map[string]string{"DnsName": n})
	}
	r := SearchResult{
		CertificateArn: d.CertificateArn,
		X509Attributes: X509Attributes{
			Subject: Name{CommonName: x509util.CommonName(c.Subject), Rendered: c.Subject}, Issuer: c.Issuer, SubjectAlternativeNames: sans,
			KeyAlgorithm: c.KeyAlgorithm, KeyUsages: d.KeyUsages, ExtendedKeyUsages: d.ExtendedKeyUsages,
			SerialNumber: c.Serial, NotBefore: d.NotBefore, NotAfter: d.NotAfter,
		},
		CertificateMetadata: Metadata{
			Status: c.Status, Type: c.Type, CertificateKeyPairOrigin: c.KeyPairOrigin, RenewalEligibility: d.RenewalEligibility,
			InUse: d.InUse, Exported: c.Exported, ExportOption: d.ExportOption, ValidationMethod: c.ValidationMethod,
			CertificateAuthorityArn: x.CertificateAuthorityArn, AcmeEndpointArn: x.AcmeEndpointArn, AcmeAccountId: c.AcmeAccountID,
			CreatedAt: d.CreatedAt, IssuedAt: d.IssuedAt, ImportedAt: d.ImportedAt, RevokedAt: d.RevokedAt,
		},
	}
	if c.Renewal != nil {
		r.CertificateMetadata.RenewalStatus = c.Renewal.Status
	}
	return r
}
