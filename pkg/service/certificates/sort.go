package certificates

import (
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/search"
	"github.com/certctl/certctl/pkg/x509util"
)

// SearchSortKeys are the sort keys of search: ACM's SearchCertificates
// SortBy values (MANAGED_BY aside: no certctl certificate is managed by
// another service).
var SearchSortKeys = []string{
	"CREATED_AT", "NOT_AFTER", "NOT_BEFORE", "COMMON_NAME", "STATUS", "KEY_ALGORITHM",
	"RENEWAL_ELIGIBILITY", "RENEWAL_STATUS", "TYPE", "EXPORTED", "EXPORT_OPTION", "IN_USE",
	"ISSUED_AT", "IMPORTED_AT", "REVOKED_AT", "VALIDATION_METHOD", "CERTIFICATE_ARN",
	"CERTIFICATE_KEY_PAIR_ORIGIN", "ACME_ENDPOINT_ARN", "ACME_ACCOUNT_ID",
}

// SortOrders are the values of --sort-order.
var SortOrders = []string{"ASCENDING", "DESCENDING"}

// sortValue is one certificate's value for a sort key: a time, a string or
// a boolean. A certificate without a value (never revoked, no ACME
// account…) sorts after every certificate with one, in either order.
type sortValue struct {
	missing bool
	t       time.Time
	s       string
	b       bool
}

func timeValue(t time.Time) sortValue { return sortValue{missing: t.IsZero(), t: t} }
func strValue(s string) sortValue     { return sortValue{missing: s == "", s: strings.ToLower(s)} }

// cmp compares two present values of the same key.
func (a sortValue) cmp(b sortValue) int {
	switch {
	case !a.t.Equal(b.t):
		if a.t.Before(b.t) {
			return -1
		}
		return 1
	case a.s != b.s:
		if a.s < b.s {
			return -1
		}
		return 1
	case a.b != b.b:
		if !a.b {
			return -1
		}
		return 1
	}
	return 0
}

// sortKey returns the value of key for x.
func sortKey(key string, x *search.Subject) sortValue {
	c := x.Cert
	switch key {
	case "NOT_AFTER":
		return timeValue(c.NotAfter)
	case "NOT_BEFORE":
		return timeValue(c.NotBefore)
	case "ISSUED_AT":
		return timeValue(c.IssuedAt)
	case "IMPORTED_AT":
		return timeValue(c.ImportedAt)
	case "REVOKED_AT":
		return timeValue(c.RevokedAt)
	case "COMMON_NAME":
		cn := x509util.CommonName(c.Subject)
		if cn == "" && c.Subject == "" {
			// No certificate yet (PENDING_VALIDATION, FAILED): no common
			// name, as search's cn: finds none (tester: sorted among
			// the others by its domain name).
			return sortValue{missing: true}
		}
		if cn == "" {
			cn = c.DomainName // a certificate whose subject has no CN
		}
		return strValue(cn)
	case "STATUS":
		return strValue(c.Status)
	case "KEY_ALGORITHM":
		return strValue(c.KeyAlgorithm)
	case "RENEWAL_ELIGIBILITY":
		return strValue(inventory.EligibilityOf(c))
	case "RENEWAL_STATUS":
		if c.Renewal == nil {
			return sortValue{missing: true}
		}
		return strValue(c.Renewal.Status)
	case "TYPE":
		return strValue(c.Type)
	case "EXPORTED":
		return sortValue{b: c.Exported}
	case "EXPORT_OPTION":
		return strValue(x.ExportOption)
	case "IN_USE":
		return sortValue{b: c.InUse()}
	case "VALIDATION_METHOD":
		return strValue(c.ValidationMethod)
	case "CERTIFICATE_ARN":
		return strValue(x.CertificateArn)
	case "CERTIFICATE_KEY_PAIR_ORIGIN":
		return strValue(c.KeyPairOrigin)
	case "ACME_ENDPOINT_ARN":
		return strValue(x.AcmeEndpointArn)
	case "ACME_ACCOUNT_ID":
		return strValue(c.AcmeAccountID)
	}
	return timeValue(c.CreatedAt)
}

// searchOrder is the order of search results for a sort key: a total
// order (equal values are ordered by ARN, ascending), so that pages cut
// from it after any result never repeat or skip a certificate.
type searchOrder struct {
	by   string
	desc bool
}

// sortOrder returns the order of search results for by and order.
func sortOrder(by, order string) (searchOrder, error) {
	if by == "" {
		by = "CREATED_AT"
	}
	known := false
	for _, k := range SearchSortKeys {
		known = known || k == by
	}
	if !known {
		return searchOrder{}, errs.UsageErrorf("invalid value %q for --sort-by (use one of %s)", by, strings.Join(SearchSortKeys, ", "))
	}
	var desc bool
	switch order {
	case "":
		desc = by == "CREATED_AT"
	case "ASCENDING":
	case "DESCENDING":
		desc = true
	default:
		return searchOrder{}, errs.UsageErrorf("invalid value %q for --sort-order (use ASCENDING or DESCENDING)", order)
	}
	return searchOrder{by: by, desc: desc}, nil
}

// before reports whether the result of value a and ARN arnA comes before
// that of b and arnB.
func (o searchOrder) before(a sortValue, arnA string, b sortValue, arnB string) bool {
	switch {
	case a.missing != b.missing:
		return b.missing
	case !a.missing:
		if c := a.cmp(b); c != 0 {
			return (c < 0) != o.desc
		}
	}
	return arnA < arnB
}

// storeOrder reports whether o is the order the store lists certificates
// in (CREATED_AT, newest first), but for certificates created at the same
// instant (the store orders them by ID descending, search by ARN
// ascending).
func (o searchOrder) storeOrder() bool { return o.by == "CREATED_AT" && o.desc }

// needsRecord reports whether o's key is a field that a certificate's
// summary lacks (localstore.SummaryFields): a search in that order reads
// whole records.
func (o searchOrder) needsRecord() bool {
	switch o.by {
	case "COMMON_NAME", "RENEWAL_STATUS", "VALIDATION_METHOD", "ACME_ENDPOINT_ARN", "ACME_ACCOUNT_ID":
		return true
	}
	return false
}

// sort sorts hs in o.
func (o searchOrder) sort(hs []hit) {
	sort.Slice(hs, func(i, j int) bool { return o.before(hs[i].key, hs[i].arn, hs[j].key, hs[j].arn) })
}

// timeKey reports whether the sort key is a time (the others are strings,
// or booleans: EXPORTED, IN_USE).
func (o searchOrder) timeKey() bool {
	switch o.by {
	case "CREATED_AT", "NOT_AFTER", "NOT_BEFORE", "ISSUED_AT", "IMPORTED_AT", "REVOKED_AT":
		return true
	}
	return false
}

// cursor is the pagination cursor after the result of value v and ARN arn.
func (o searchOrder) cursor(v sortValue, arn string) inventory.Cursor {
	c := inventory.Cursor{Kind: inventory.CursorSearch, SortBy: o.by, Desc: o.desc, Missing: v.missing, Text: v.s, Bool: v.b, ID: arn}
	if o.timeKey() && !v.missing {
		c.At = v.t.UTC()
	}
	return c
}

// after reports whether h comes after the position of c, a cursor of o.
func (o searchOrder) after(c *inventory.Cursor, h hit) bool {
	v := sortValue{missing: c.Missing, s: c.Text, b: c.Bool}
	if o.timeKey() && !c.Missing {
		v.t = c.At
	}
	return o.before(v, c.ID, h.key, h.arn)
}
