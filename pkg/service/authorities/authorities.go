// Package authorities is the private CA service (the AWS Private CA
// analogue): creating, issuing from, revoking with, and managing the
// lifecycle of the vault's CAs. The rules are pkg/authority's, applied
// inside a transaction; this package owns the transactions, and every
// change goes through service.Core, so it is recorded in the audit log
// under its AWS Private CA name.
//
//	authorities.go  the service, CA views (Description) and CA lookup
//	lifecycle.go    create, update, delete, restore, import-certificate
//	issue.go        issue from a CSR, CRLs, the CRL/OCSP responder
//	read.go         list, describe, csr, trust bundle
package authorities

import (
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on: ca.base_url is
// applied by core.Authority, the one signer of the process, which every
// service that issues shares (and which finds PKCS11 CA keys in the token
// itself).
type Settings struct {
	// Token opens the PKCS#11 token where `ca create|import --key-storage
	// PKCS11` make or find the CA key (nil: none configured).
	Token func() (hsm.Token, error)
}

// Service is the authorities service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// Configuration is AWS Private CA's CertificateAuthorityConfiguration.
type Configuration struct {
	KeyAlgorithm     string                     `json:"KeyAlgorithm"`
	SigningAlgorithm string                     `json:"SigningAlgorithm"`
	Subject          authority.Subject          `json:"Subject"`
	NameConstraints  *authority.NameConstraints `json:"NameConstraints,omitempty"`
}

// Description is AWS Private CA's CertificateAuthority.
type Description struct {
	Arn                               string                             `json:"Arn"`
	Type                              string                             `json:"Type"`
	Status                            string                             `json:"Status"`
	ParentArn                         string                             `json:"ParentArn,omitempty"`
	Serial                            string                             `json:"Serial,omitempty"`
	NotBefore                         *inventory.Timestamp               `json:"NotBefore,omitempty"`
	NotAfter                          *inventory.Timestamp               `json:"NotAfter,omitempty"`
	CreatedAt                         *inventory.Timestamp               `json:"CreatedAt,omitempty"`
	LastStateChangeAt                 *inventory.Timestamp               `json:"LastStateChangeAt,omitempty"`
	RestorableUntil                   *inventory.Timestamp               `json:"RestorableUntil,omitempty"`
	FailureReason                     string                             `json:"FailureReason,omitempty"`
	CertificateAuthorityConfiguration Configuration                      `json:"CertificateAuthorityConfiguration"`
	RevocationConfiguration           *authority.RevocationConfiguration `json:"RevocationConfiguration,omitempty"`
	UsageMode                         string                             `json:"UsageMode"`
	// CrlPartitions is how many CRL partitions a PARTITIONED CA has opened.
	CrlPartitions int `json:"CrlPartitions,omitempty"`
	// KeyStorage is VAULT (the key sealed in the vault) or PKCS11 (in a
	// token, as the key labelled KeyLabel).
	KeyStorage string `json:"KeyStorage"`
	KeyLabel   string `json:"KeyLabel,omitempty"`
	// SigningBlocked says why the CA signs nothing, whatever its Status:
	// its key revoked for compromise, or its certificate or one above it
	// revoked (authority.SigningBlocked) — as AWS Private CA's statuses
	// have none for it (tester: an ACTIVE CA refused every issuance, and
	// nothing said why).
	SigningBlocked string           `json:"SigningBlocked,omitempty"`
	Tags           []localstore.Tag `json:"Tags,omitempty"`
	// CrlDistributionPoint and OcspUrl are the locations the certificates
	// issued here now carry (none: omitted): its CustomCname, this host's
	// ca.base_url, or the one the CA recorded (review: a location the CA
	// recorded was seen nowhere).
	CrlDistributionPoint string `json:"CrlDistributionPoint,omitempty"`
	OcspUrl              string `json:"OcspUrl,omitempty"`
}

// describe is r as AWS Private CA shows it, its status as of now, with
// why it signs nothing (blocked; "" when nothing stops it).
func (s *Service) describe(r *authority.Record, now time.Time, blocked string) Description {
	n := s.core.Names
	return Description{
		Arn:               n.CAARN(r.ID),
		Type:              r.Type,
		Status:            r.EffectiveStatus(now),
		ParentArn:         n.CAARN(r.ParentID),
		Serial:            r.Serial,
		NotBefore:         inventory.TS(r.NotBefore),
		NotAfter:          inventory.TS(r.NotAfter),
		CreatedAt:         inventory.TS(r.CreatedAt),
		LastStateChangeAt: inventory.TS(r.LastStateChangeAt),
		RestorableUntil:   inventory.TS(r.RestorableUntil),
		FailureReason:     r.FailureReason,
		CertificateAuthorityConfiguration: Configuration{
			KeyAlgorithm: r.KeyAlgorithm, SigningAlgorithm: r.SigningAlgorithm, Subject: r.Subject,
			NameConstraints: r.NameConstraints,
		},
		RevocationConfiguration: s.core.Authority.EffectiveRevocation(r),
		CrlDistributionPoint:    s.core.Authority.CarriedCRLURL(r),
		OcspUrl:                 s.core.Authority.OCSPURL(r),
		UsageMode:               usageMode(r),
		CrlPartitions:           s.core.Authority.Partitions(r),
		KeyStorage:              r.Storage(),
		KeyLabel:                r.KeyLabel,
		SigningBlocked:          blocked,
		Tags:                    r.Tags,
	}
}

// resolve finds the CA named by ref in op (the default private CA is
// created on first use, as part of op, which names it) and names it as a
// resource of op.
func (s *Service) resolve(op *service.Op, ref string) (*authority.Record, error) {
	r, err := authority.Resolve(op.Tx, s.core.Authority, s.core.Names, ref)
	return s.noted(op, ref, r, err)
}

// findIn is resolve for a change of a CA that must exist already: the word
// default names the default private CA only once it does (authority.Find)
// — deleting, updating or restoring it does not make it first (review: a
// delete made it, refused to delete the ACTIVE CA and named its ID, which
// the rollback then took away).
func (s *Service) findIn(op *service.Op, ref string) (*authority.Record, error) {
	r, err := authority.Find(op.Tx, s.core.Names, ref)
	return s.noted(op, ref, r, err)
}

// noted names in op the CA r that ref resolved to, or ref when it did not
// (err).
func (s *Service) noted(op *service.Op, ref string, r *authority.Record, err error) (*authority.Record, error) {
	if err != nil {
		op.Param("CertificateAuthorityArn", ref)
		return nil, err
	}
	op.Resource(s.core.Names.CAARN(r.ID))
	return r, nil
}

func usageMode(r *authority.Record) string {
	if r.UsageMode == "" {
		return authority.UsageGeneralPurpose
	}
	return r.UsageMode
}
