package inventory

import (
	"strings"
	"time"
	"unsafe"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/localstore"
)

// Timestamp marshals as RFC 3339 UTC with whole seconds.
type Timestamp time.Time

// MarshalText implements encoding.TextMarshaler (JSON and YAML quote it);
// a text marshaler is cheaper for encoding/json than a JSON one, whose
// output it must re-validate.
func (t Timestamp) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().Truncate(time.Second).AppendFormat(nil, time.RFC3339), nil
}

// String formats like MarshalJSON without quotes.
func (t Timestamp) String() string {
	return time.Time(t).UTC().Truncate(time.Second).Format(time.RFC3339)
}

// TS returns a *Timestamp for t, nil for the zero time (so omitempty drops it).
func TS(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := Timestamp(t)
	return &ts
}

// Names builds ARNs for a region and account.
type Names struct {
	Region, Account string
}

// CertificateARN is the ARN of a certificate ID.
func (n Names) CertificateARN(id string) string {
	return arn.Format(arn.Certificate, n.Region, n.Account, id)
}

// CAARN is the ARN of a certificate authority ID.
func (n Names) CAARN(id string) string {
	if id == "" {
		return ""
	}
	return arn.Format(arn.CertificateAuthority, n.Region, n.Account, id)
}

// EndpointARN is the ARN of an ACME endpoint ID.
func (n Names) EndpointARN(id string) string {
	if id == "" {
		return ""
	}
	return arn.Format(arn.AcmeEndpoint, n.Region, n.Account, id)
}

// ResourceRecord is a DNS record for validation.
type ResourceRecord struct {
	Name  string `json:"Name"`
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// HTTPRedirect is an HTTP validation redirect.
type HTTPRedirect struct {
	RedirectFrom string `json:"RedirectFrom"`
	RedirectTo   string `json:"RedirectTo"`
}

// DomainValidation is ACM's DomainValidation.
type DomainValidation struct {
	DomainName       string          `json:"DomainName"`
	ValidationDomain string          `json:"ValidationDomain,omitempty"`
	ValidationStatus string          `json:"ValidationStatus,omitempty"`
	ValidationMethod string          `json:"ValidationMethod,omitempty"`
	ResourceRecord   *ResourceRecord `json:"ResourceRecord,omitempty"`
	ValidationEmails []string        `json:"ValidationEmails,omitempty"`
	HTTPRedirect     *HTTPRedirect   `json:"HttpRedirect,omitempty"`
}

// RenewalSummary is ACM's RenewalSummary.
type RenewalSummary struct {
	RenewalStatus           string             `json:"RenewalStatus"`
	DomainValidationOptions []DomainValidation `json:"DomainValidationOptions"`
	RenewalStatusReason     string             `json:"RenewalStatusReason,omitempty"`
	UpdatedAt               *Timestamp         `json:"UpdatedAt,omitempty"`
}

// KeyUsage is ACM's KeyUsage.
type KeyUsage struct {
	Name string `json:"Name"`
}

// Options is ACM's CertificateOptions.
type Options struct {
	CertificateTransparencyLoggingPreference string `json:"CertificateTransparencyLoggingPreference"`
	Export                                   string `json:"Export"`
}

// Version is one version of a certificate (describe --versions).
type Version struct {
	VersionNumber int        `json:"VersionNumber"`
	Serial        string     `json:"Serial"`
	NotBefore     *Timestamp `json:"NotBefore,omitempty"`
	NotAfter      *Timestamp `json:"NotAfter,omitempty"`
	IssuedAt      *Timestamp `json:"IssuedAt,omitempty"`
	ImportedAt    *Timestamp `json:"ImportedAt,omitempty"`
	Current       bool       `json:"Current"`
}

// Detail is ACM's CertificateDetail with certctl's additions.
type Detail struct {
	CertificateArn          string             `json:"CertificateArn"`
	DomainName              string             `json:"DomainName"`
	SubjectAlternativeNames []string           `json:"SubjectAlternativeNames"`
	DomainValidationOptions []DomainValidation `json:"DomainValidationOptions,omitempty"`
	Serial                  string             `json:"Serial,omitempty"`
	Subject                 string             `json:"Subject,omitempty"`
	Issuer                  string             `json:"Issuer,omitempty"`
	CreatedAt               *Timestamp         `json:"CreatedAt,omitempty"`
	IssuedAt                *Timestamp         `json:"IssuedAt,omitempty"`
	ImportedAt              *Timestamp         `json:"ImportedAt,omitempty"`
	Status                  string             `json:"Status"`
	RevokedAt               *Timestamp         `json:"RevokedAt,omitempty"`
	RevocationReason        string             `json:"RevocationReason,omitempty"`
	NotBefore               *Timestamp         `json:"NotBefore,omitempty"`
	NotAfter                *Timestamp         `json:"NotAfter,omitempty"`
	KeyAlgorithm            string             `json:"KeyAlgorithm"`
	SignatureAlgorithm      string             `json:"SignatureAlgorithm,omitempty"`
	InUseBy                 []string           `json:"InUseBy"`
	FailureReason           string             `json:"FailureReason,omitempty"`
	Type                    string             `json:"Type"`
	KeyPairOrigin           string             `json:"KeyPairOrigin"`
	RenewalSummary          *RenewalSummary    `json:"RenewalSummary,omitempty"`
	KeyUsages               []KeyUsage         `json:"KeyUsages"`
	ExtendedKeyUsages       []localstore.EKU   `json:"ExtendedKeyUsages"`
	CertificateAuthorityArn string             `json:"CertificateAuthorityArn,omitempty"`
	RenewalEligibility      string             `json:"RenewalEligibility"`
	Options                 Options            `json:"Options"`
	Exported                bool               `json:"Exported"`
	AcmeEndpointArn         string             `json:"AcmeEndpointArn,omitempty"`
	AcmeAccountID           string             `json:"AcmeAccountId,omitempty"`
	Tags                    []localstore.Tag   `json:"Tags"`
	Versions                []Version          `json:"Versions,omitempty"`
}

// Summary is ACM's CertificateSummary with certctl's additions.
type Summary struct {
	CertificateArn                       string     `json:"CertificateArn"`
	DomainName                           string     `json:"DomainName"`
	SubjectAlternativeNameSummaries      []string   `json:"SubjectAlternativeNameSummaries"`
	HasAdditionalSubjectAlternativeNames bool       `json:"HasAdditionalSubjectAlternativeNames"`
	Status                               string     `json:"Status"`
	Type                                 string     `json:"Type"`
	KeyAlgorithm                         string     `json:"KeyAlgorithm"`
	KeyPairOrigin                        string     `json:"KeyPairOrigin"`
	KeyUsages                            []string   `json:"KeyUsages"`
	ExtendedKeyUsages                    []string   `json:"ExtendedKeyUsages"`
	ExportOption                         string     `json:"ExportOption,omitempty"`
	InUse                                bool       `json:"InUse"`
	Exported                             bool       `json:"Exported"`
	RenewalEligibility                   string     `json:"RenewalEligibility"`
	NotBefore                            *Timestamp `json:"NotBefore,omitempty"`
	NotAfter                             *Timestamp `json:"NotAfter,omitempty"`
	CreatedAt                            *Timestamp `json:"CreatedAt,omitempty"`
	IssuedAt                             *Timestamp `json:"IssuedAt,omitempty"`
	ImportedAt                           *Timestamp `json:"ImportedAt,omitempty"`
	RevokedAt                            *Timestamp `json:"RevokedAt,omitempty"`
}

// maxSANSummaries is how many SANs a summary carries, as in ACM.
const maxSANSummaries = 100

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DomainValidations renders the validation state of c.
func DomainValidations(c *localstore.Certificate) []DomainValidation {
	var out []DomainValidation
	for _, v := range c.Validations {
		dv := DomainValidation{
			DomainName:       v.DomainName,
			ValidationDomain: v.ValidationDomain,
			ValidationStatus: v.Status,
			ValidationMethod: v.Method,
			ValidationEmails: v.Emails,
		}
		if v.RecordName != "" {
			dv.ResourceRecord = &ResourceRecord{Name: v.RecordName, Type: v.RecordType, Value: v.RecordValue}
		}
		if v.RedirectFrom != "" {
			dv.HTTPRedirect = &HTTPRedirect{RedirectFrom: v.RedirectFrom, RedirectTo: v.RedirectTo}
		}
		out = append(out, dv)
	}
	return out
}

// NewDetail renders the ACM view of c; versions may be nil.
func NewDetail(n Names, c *localstore.Certificate, versions []*localstore.CertificateVersion) Detail {
	d := Detail{
		CertificateArn:          n.CertificateARN(c.ID),
		DomainName:              c.DomainName,
		SubjectAlternativeNames: orEmpty(c.SubjectAlternativeNames),
		DomainValidationOptions: DomainValidations(c),
		Serial:                  c.Serial,
		Subject:                 c.Subject,
		Issuer:                  c.Issuer,
		CreatedAt:               TS(c.CreatedAt),
		IssuedAt:                TS(c.IssuedAt),
		ImportedAt:              TS(c.ImportedAt),
		Status:                  c.Status,
		RevokedAt:               TS(c.RevokedAt),
		RevocationReason:        c.RevocationReason,
		NotBefore:               TS(c.NotBefore),
		NotAfter:                TS(c.NotAfter),
		KeyAlgorithm:            c.KeyAlgorithm,
		SignatureAlgorithm:      c.SignatureAlgorithm,
		InUseBy:                 orEmpty(c.InUseBy),
		FailureReason:           c.FailureReason,
		Type:                    c.Type,
		KeyPairOrigin:           c.KeyPairOrigin,
		ExtendedKeyUsages:       orEmpty(c.ExtendedKeyUsages),
		CertificateAuthorityArn: n.CAARN(c.CertificateAuthorityID),
		RenewalEligibility:      EligibilityOf(c),
		Options: Options{
			CertificateTransparencyLoggingPreference: orDefault(c.CTLoggingPreference, "DISABLED"),
			Export:                                   ExportOptionOf(c),
		},
		Exported:        c.Exported,
		AcmeEndpointArn: n.EndpointARN(c.AcmeEndpointID),
		AcmeAccountID:   c.AcmeAccountID,
		Tags:            orEmpty(c.Tags),
	}
	d.KeyUsages = []KeyUsage{}
	for _, k := range c.KeyUsages {
		d.KeyUsages = append(d.KeyUsages, KeyUsage{Name: k})
	}
	if c.Renewal != nil {
		d.RenewalSummary = &RenewalSummary{
			RenewalStatus:           c.Renewal.Status,
			DomainValidationOptions: orEmpty(DomainValidations(c)),
			RenewalStatusReason:     c.Renewal.Reason,
			UpdatedAt:               TS(c.Renewal.UpdatedAt),
		}
	}
	for _, v := range versions {
		d.Versions = append(d.Versions, Version{
			VersionNumber: v.Number,
			Serial:        v.Serial,
			NotBefore:     TS(v.NotBefore),
			NotAfter:      TS(v.NotAfter),
			IssuedAt:      TS(firstNonZero(v.IssuedAt, v.ImportedAt)),
			ImportedAt:    TS(v.ImportedAt),
			Current:       v.Number == c.Version,
		})
	}
	return d
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ExportOptionOf is c's export option as shown: ENABLED or DISABLED when
// none is recorded, by whether its key may leave the vault.
func ExportOptionOf(c *localstore.Certificate) string {
	if c.ExportOption != "" {
		return c.ExportOption
	}
	if c.Exportable() {
		return "ENABLED"
	}
	return "DISABLED"
}

// EligibilityOf is c's renewal eligibility as shown (INELIGIBLE when none
// is recorded).
func EligibilityOf(c *localstore.Certificate) string {
	if c.RenewalEligibility != "" {
		return c.RenewalEligibility
	}
	return Ineligible
}

// NewSummary renders the ACM list view of c.
func NewSummary(n Names, c *localstore.Certificate) Summary {
	return newSummary(n.CertificateARN(c.ID), c, nil)
}

// summaryRenderer renders NewSummary of every certificate of a block, for
// a caller that is done with each block before it renders the next: the
// ARNs of a block are one string, and the summaries, their timestamps and
// their lists of extended key usages are rendered into arrays reused from
// block to block (a list of ten thousand certificates would otherwise
// spend more time allocating than rendering). Their strings are new, and
// stay valid.
type summaryRenderer struct {
	out   []Summary
	times []Timestamp
	names []string
	// reuse: the ARNs of a block are written over those of the block
	// before (no summary of it is used any more).
	reuse bool
	arns  []byte
}

// render renders certs; what it returns is valid until the next render.
func (r *summaryRenderer) render(n Names, certs []*localstore.Certificate) []Summary {
	prefix := n.CertificateARN("")
	size, ekus := 0, 0
	for _, c := range certs {
		size += len(prefix) + len(c.ID)
		ekus += len(c.ExtendedKeyUsages)
	}
	// At most six timestamps a certificate: room for every block of as
	// many, so that the array is reused whatever they hold.
	times := summaryTimes * len(certs)
	var arns string
	if r.reuse {
		b := r.arns[:0]
		for _, c := range certs {
			b = append(append(b, prefix...), c.ID...)
		}
		r.arns = b
		arns = unsafe.String(unsafe.SliceData(b), len(b))
	} else {
		var b strings.Builder
		b.Grow(size)
		for _, c := range certs {
			b.WriteString(prefix)
			b.WriteString(c.ID)
		}
		arns = b.String()
	}
	r.out = grow(r.out, len(certs))
	a := &summaryAlloc{times: grow(r.times, times)[:0], names: grow(r.names, ekus)[:0]}
	r.times, r.names = a.times[:cap(a.times)], a.names[:cap(a.names)]
	for i, c := range certs {
		k := len(prefix) + len(c.ID)
		r.out[i] = newSummary(arns[:k], c, a)
		arns = arns[k:]
	}
	return r.out
}

// summaryTimes is how many timestamps a Summary has.
const summaryTimes = 6

// grow returns l with length n, reusing its array when it is large
// enough.
func grow[T any](l []T, n int) []T {
	if l == nil || cap(l) < n {
		return make([]T, n)
	}
	return l[:n]
}

// summaryAlloc hands out the timestamps and lists of names of summaries
// from arrays made for them all.
type summaryAlloc struct {
	times []Timestamp
	names []string
}

// ts is TS, from a's array when a is set.
func (a *summaryAlloc) ts(t time.Time) *Timestamp {
	if a == nil || t.IsZero() || len(a.times) == cap(a.times) {
		return TS(t)
	}
	a.times = append(a.times, Timestamp(t))
	return &a.times[len(a.times)-1]
}

// list returns an empty list of capacity n, from a's array when a is
// set.
func (a *summaryAlloc) list(n int) []string {
	if a == nil || cap(a.names)-len(a.names) < n {
		return make([]string, 0, n)
	}
	l := a.names[len(a.names) : len(a.names) : len(a.names)+n]
	a.names = a.names[:len(a.names)+n]
	return l
}

func newSummary(arn string, c *localstore.Certificate, a *summaryAlloc) Summary {
	s := Summary{
		CertificateArn:     arn,
		DomainName:         c.DomainName,
		Status:             c.Status,
		Type:               c.Type,
		KeyAlgorithm:       c.KeyAlgorithm,
		KeyPairOrigin:      c.KeyPairOrigin,
		KeyUsages:          orEmpty(c.KeyUsages),
		ExportOption:       ExportOptionOf(c),
		InUse:              c.InUse(),
		Exported:           c.Exported,
		RenewalEligibility: EligibilityOf(c),
		NotBefore:          a.ts(c.NotBefore),
		NotAfter:           a.ts(c.NotAfter),
		CreatedAt:          a.ts(c.CreatedAt),
		IssuedAt:           a.ts(c.IssuedAt),
		ImportedAt:         a.ts(c.ImportedAt),
		RevokedAt:          a.ts(c.RevokedAt),
	}
	sans := c.SubjectAlternativeNames
	if len(sans) > maxSANSummaries {
		sans = sans[:maxSANSummaries]
		s.HasAdditionalSubjectAlternativeNames = true
	}
	s.SubjectAlternativeNameSummaries = orEmpty(sans)
	s.ExtendedKeyUsages = a.list(len(c.ExtendedKeyUsages))
	for _, e := range c.ExtendedKeyUsages {
		s.ExtendedKeyUsages = append(s.ExtendedKeyUsages, e.Name)
	}
	return s
}

// firstNonZero returns a if set, else b: an imported version's IssuedAt is
// the time it entered the vault, so every version carries the field.
func firstNonZero(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}
