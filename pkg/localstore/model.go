package localstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/timeutil"
)

// Certificate is one certificate of the inventory: everything certctl knows
// about it except the bytes of its versions and its sealed private key.
type Certificate struct {
	ID                      string             `json:"id"`
	DomainName              string             `json:"domainName"`
	SubjectAlternativeNames []string           `json:"sans,omitempty"`
	Status                  string             `json:"status"`
	Type                    string             `json:"type"`
	KeyPairOrigin           string             `json:"origin"`
	KeyAlgorithm            string             `json:"keyAlgorithm"`
	SignatureAlgorithm      string             `json:"signatureAlgorithm,omitempty"`
	Serial                  string             `json:"serial,omitempty"`
	Subject                 string             `json:"subject,omitempty"`
	Issuer                  string             `json:"issuer,omitempty"`
	NotBefore               time.Time          `json:"notBefore,omitzero"`
	NotAfter                time.Time          `json:"notAfter,omitzero"`
	CreatedAt               time.Time          `json:"createdAt"`
	UpdatedAt               time.Time          `json:"updatedAt,omitzero"`
	IssuedAt                time.Time          `json:"issuedAt,omitzero"`
	ImportedAt              time.Time          `json:"importedAt,omitzero"`
	RevokedAt               time.Time          `json:"revokedAt,omitzero"`
	RevocationReason        string             `json:"revocationReason,omitempty"`
	FailureReason           string             `json:"failureReason,omitempty"`
	KeyUsages               []string           `json:"keyUsages,omitempty"`
	ExtendedKeyUsages       []EKU              `json:"extendedKeyUsages,omitempty"`
	InUseBy                 []string           `json:"inUseBy,omitempty"`
	Tags                    []Tag              `json:"tags,omitempty"`
	Exported                bool               `json:"exported,omitempty"`
	ExportOption            string             `json:"exportOption,omitempty"`
	CTLoggingPreference     string             `json:"ctLogging,omitempty"`
	CertificateAuthorityID  string             `json:"caId,omitempty"`
	AcmeEndpointID          string             `json:"acmeEndpointId,omitempty"`
	AcmeAccountID           string             `json:"acmeAccountId,omitempty"`
	RenewalEligibility      string             `json:"renewalEligibility,omitempty"`
	Renewal                 *RenewalSummary    `json:"renewal,omitempty"`
	Validations             []DomainValidation `json:"validations,omitempty"`
	ValidationMethod        string             `json:"validationMethod,omitempty"`
	Version                 int                `json:"version"`
	Extra                   map[string]string  `json:"extra,omitempty"`
}

// Tag is a key/value label.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// EKU is an extended key usage in ACM's naming.
type EKU struct {
	Name string `json:"Name"`
	OID  string `json:"OID,omitempty"`
}

// RenewalSummary is the state of managed renewal.
type RenewalSummary struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Message is why a renewal FAILED, in words (the refusal's message,
	// which names no secret: "certificate authority … is DISABLED"), when
	// known; describe shows it beside Reason, the code. Not an ACM field.
	Message string `json:"message,omitempty"`
}

// DomainValidation is the validation state of one name.
type DomainValidation struct {
	DomainName       string    `json:"domainName"`
	ValidationDomain string    `json:"validationDomain,omitempty"`
	Status           string    `json:"status"`
	Method           string    `json:"method,omitempty"`
	RecordName       string    `json:"recordName,omitempty"`
	RecordType       string    `json:"recordType,omitempty"`
	RecordValue      string    `json:"recordValue,omitempty"`
	Emails           []string  `json:"emails,omitempty"`
	RedirectFrom     string    `json:"redirectFrom,omitempty"`
	RedirectTo       string    `json:"redirectTo,omitempty"`
	UpdatedAt        time.Time `json:"updatedAt,omitzero"`
}

// Exportable reports whether the private key may be exported, by ACM's rules.
func (c *Certificate) Exportable() bool {
	switch c.KeyPairOrigin {
	case "VAULT":
		if c.Type == "ISSUED" {
			return c.ExportOption == "ENABLED"
		}
		return true
	case "IMPORTED":
		return false
	}
	return false
}

// InUse reports whether the certificate is recorded as deployed somewhere.
func (c *Certificate) InUse() bool { return len(c.InUseBy) > 0 }

// CertificateVersion is one issued or imported version of a certificate.
type CertificateVersion struct {
	Number         int       `json:"number"`
	Serial         string    `json:"serial"`
	NotBefore      time.Time `json:"notBefore"`
	NotAfter       time.Time `json:"notAfter"`
	IssuedAt       time.Time `json:"issuedAt,omitzero"`
	ImportedAt     time.Time `json:"importedAt,omitzero"`
	CertificatePEM PEMText   `json:"certificatePem"`
	ChainPEM       PEMText   `json:"chainPem,omitempty"`
	// KeyRef names the sealed private key of this version in the secrets
	// table; empty when the vault holds no key (ACME origin).
	KeyRef string `json:"keyRef,omitempty"`
}

// CertificateFilter selects certificates in ListCertificates. Empty fields
// do not filter.
type CertificateFilter struct {
	// IDs keeps the certificates of these IDs (search by ARN: a lookup
	// by primary key rather than a scan); nil or empty keeps every one.
	IDs            []string
	Statuses       []string
	KeyAlgorithms  []string
	Types          []string
	Origins        []string
	Exportable     *bool
	InUse          *bool
	Eligibility    []string
	NotAfterBefore time.Time // certificates whose NotAfter < this
	// IDPrefix keeps the certificates whose ID begins with it (shell
	// completion of what was typed).
	IDPrefix string
	// SortBy is one of CREATED_AT (default), NOT_AFTER, DOMAIN_NAME.
	SortBy     string
	Descending bool
	// After, when set, keeps the certificates that come after this
	// position in the order of SortBy and Descending (keyset pagination):
	// a certificate added or deleted before it moves no other one across
	// the boundary, as an Offset would.
	After  *Position
	Offset int
	Limit  int // 0: no limit
	// NoTags, for summary lists (ListCertificateSummaries,
	// ScanCertificateSummaries) that neither show nor filter on tags,
	// leaves Tags and UpdatedAt unset: such a list then reads no more
	// than the list covering indexes hold (SQLite migration 10).
	NoTags bool
}

// Object is a generic record for the resources of later capabilities (CAs,
// endpoints, accounts, events...). Data is the caller's JSON.
type Object struct {
	Kind      string
	ID        string
	Data      []byte
	UpdatedAt time.Time
}

// Position is a certificate's place in a list's order: its sort key as the
// store keeps it, and its ID, which orders certificates with equal keys.
type Position struct {
	// Key is the sort key: Unix nanoseconds (int64) for CREATED_AT and
	// NOT_AFTER, nil for a NOT_AFTER not known yet (those sort first
	// ascending and last descending), the domain name (string) for
	// DOMAIN_NAME.
	Key any
	ID  string
}

// PositionOf returns c's position in a list sorted by sortBy. Its strings
// are copies: a scanned certificate's may be reused with its block.
func PositionOf(c *Certificate, sortBy string) Position {
	id := strings.Clone(c.ID)
	switch sortBy {
	case "NOT_AFTER":
		if c.NotAfter.IsZero() {
			return Position{ID: id}
		}
		return Position{Key: timeutil.UnixNano(c.NotAfter), ID: id}
	case "DOMAIN_NAME":
		return Position{Key: strings.Clone(c.DomainName), ID: id}
	}
	return Position{Key: timeutil.UnixNano(c.CreatedAt), ID: id}
}

// sortColumn is the certificates column of a list's SortBy.
func sortColumn(sortBy string) string {
	switch sortBy {
	case "NOT_AFTER":
		return "not_after"
	case "DOMAIN_NAME":
		return "domain_name"
	}
	return "created_at"
}

// afterClause is the WHERE condition keeping the rows after p in the order
// of col (then id), descending or not; ph adds an argument and returns its
// placeholder. not_after's NULLs sort first ascending and last descending
// (both stores order them so). Each comparison on col is written so that
// the store can start from p in col's index.
func afterClause(col string, desc bool, p Position, ph func(any) string) string {
	if p.Key == nil {
		if desc {
			return fmt.Sprintf("(%s IS NULL AND id < %s)", col, ph(p.ID))
		}
		return fmt.Sprintf("((%s IS NULL AND id > %s) OR %s IS NOT NULL)", col, ph(p.ID), col)
	}
	op, from := ">", ">="
	if desc {
		op, from = "<", "<="
	}
	// Arguments are added in the order of their placeholders (SQLite's
	// are positional).
	c := fmt.Sprintf("(%s %s %s AND (%s %s %s OR id %s %s))", col, from, ph(p.Key), col, op, ph(p.Key), op, ph(p.ID))
	if desc && col == "not_after" {
		c = fmt.Sprintf("(%s OR %s IS NULL)", c, col)
	}
	return c
}
