package certificates

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/search"
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
	matched, err := s.match(ctx, stmt, now)
	if err != nil {
		return nil, err
	}
	keys := order.sort(matched)
	out := &SearchPage{Results: []SearchResult{}, AsOf: now}
	start := 0
	if cur != nil {
		start = order.start(matched, keys, cur)
	}
	page := matched[start:]
	if in.MaxItems > 0 && len(page) > in.MaxItems {
		page = page[:in.MaxItems]
		last := start + in.MaxItems - 1
		out.NextToken = inventory.EncodeCursor(order.cursor(keys[last], matched[last].CertificateArn))
	}
	for _, m := range page {
		out.Results = append(out.Results, searchResult(m.Cert, m.summary, m.Subject))
	}
	return out, nil
}

// matched is a certificate a statement selected, as of the search's time.
type matched struct {
	*search.Subject
	summary inventory.Summary
}

// maxNarrowIDs bounds the IDs a search looks up by key; a statement naming
// more certificates reads the inventory (SQLite binds at most 32,766
// values a statement).
const maxNarrowIDs = 1000

// match returns the certificates of every origin that stmt selects (every
// one when stmt is nil), as of now, newest first. The store reads only the
// certificates stmt can select by what it keeps (search.Narrowing: a
// search by ARN looks its certificates up); stmt judges each of them.
func (s *Service) match(ctx context.Context, stmt *search.Statement, now time.Time) ([]matched, error) {
	var certs []*localstore.Certificate
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		if err := stmt.Resolve(func(kind, ref string) (string, error) {
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
		}); err != nil {
			return err
		}
		n := stmt.Narrow()
		if n.None() {
			// Checked first: to the store an empty set is no filter.
			return nil
		}
		if len(n.IDs) > maxNarrowIDs {
			n.IDs = nil // read everything rather than bind that many values
		}
		var err error
		certs, err = tx.ListCertificates(localstore.CertificateFilter{IDs: n.IDs, Types: n.Types, KeyAlgorithms: n.KeyAlgorithms, Statuses: n.Statuses,
			Origins: inventory.Origins, SortBy: "CREATED_AT", Descending: true})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]matched, 0, len(certs))
	for _, c := range certs {
		inventory.AsOf(c, now)
		x := &search.Subject{Cert: c, CertificateArn: s.core.Names.CertificateARN(c.ID),
			CertificateAuthorityArn: s.core.Names.CAARN(c.CertificateAuthorityID), AcmeEndpointArn: s.core.Names.EndpointARN(c.AcmeEndpointID)}
		d := inventory.NewSummary(s.core.Names, c)
		x.ExportOption = d.ExportOption
		if stmt != nil && !stmt.Match(x) {
			continue
		}
		out = append(out, matched{Subject: x, summary: d})
	}
	return out, nil
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
